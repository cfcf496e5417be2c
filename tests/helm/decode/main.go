// Command decode reads the multi-document YAML that `helm template` prints on stdin and decodes every
// document strictly into the typed object of its apiVersion and kind: an unknown or duplicated field, a
// malformed quantity, or a kind this program does not know is an error (exit 1), with the document named.
//
// Strictness is apimachinery's own (the serializer kubectl's --validate=strict and the API server use), over
// the types of the pinned k8s.io/api; ServiceMonitor comes from the prometheus-operator API module.
// On success it prints one "apiVersion kind name" line per document, for the tests to cross-check.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

func newScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, policyv1.AddToScheme,
		autoscalingv2.AddToScheme, networkingv1.AddToScheme, rbacv1.AddToScheme, monitoringv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	return scheme, nil
}

func run(in io.Reader, out io.Writer) error {
	scheme, err := newScheme()
	if err != nil {
		return err
	}
	decoder := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme,
		json.SerializerOptions{Yaml: true, Strict: true})
	reader := utilyaml.NewYAMLReader(bufio.NewReader(in))
	count := 0
	for index := 0; ; index++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("document %d: %w", index, err)
		}
		if isEmpty(doc) {
			continue
		}
		obj, gvk, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			return fmt.Errorf("document %d (%s): %w", index, firstLines(doc), err)
		}
		accessor, err := meta.Accessor(obj)
		if err != nil {
			return fmt.Errorf("document %d: %w", index, err)
		}
		if accessor.GetName() == "" {
			return fmt.Errorf("document %d (%s): no metadata.name", index, gvk.Kind)
		}
		fmt.Fprintf(out, "%s %s %s\n", gvk.GroupVersion().String(), gvk.Kind, accessor.GetName())
		count++
	}
	if count == 0 {
		return errors.New("no documents on stdin")
	}
	return nil
}

// isEmpty is true for a document of comments and blank lines only (helm prints one per empty template).
func isEmpty(doc []byte) bool {
	for _, line := range bytes.Split(doc, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) > 0 && line[0] != '#' && !bytes.Equal(line, []byte("---")) {
			return false
		}
	}
	return true
}

// firstLines names a document in an error by its leading lines (helm's "# Source: ..." comment among them).
func firstLines(doc []byte) string {
	lines := bytes.SplitN(bytes.TrimSpace(doc), []byte("\n"), 3)
	return string(bytes.Join(lines[:min(len(lines), 2)], []byte(" | ")))
}

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "decode:", err)
		os.Exit(1)
	}
}
