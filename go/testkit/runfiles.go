package testkit

import (
	"os"
	"testing"

	"github.com/bazelbuild/rules_go/go/runfiles"
)

// Runfile returns the path of the runfile that the environment variable env
// names (a BUILD file sets it, with $(rlocationpath ...)).
func Runfile(t testing.TB, env string) string {
	t.Helper()
	p, err := runfiles.Rlocation(os.Getenv(env))
	if err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	return p
}

// ReadRunfile returns the contents of the runfile env names (Runfile).
func ReadRunfile(t testing.TB, env string) string {
	t.Helper()
	b, err := os.ReadFile(Runfile(t, env))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Cert returns the path of a file made by //certs, e.g. Cert(t, "ca.pem");
// the test's BUILD target lists it in data.
func Cert(t testing.TB, name string) string {
	t.Helper()
	p, err := runfiles.Rlocation("_main/certs/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
