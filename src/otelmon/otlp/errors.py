"""Decoding errors, each carrying the HTTP status the OTLP/HTTP spec asks for."""


class OtlpError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MalformedPayload(OtlpError):
    status_code = 400


class RequestTimeout(OtlpError):
    status_code = 408


class PayloadTooLarge(OtlpError):
    status_code = 413


class UnsupportedMediaType(OtlpError):
    status_code = 415
