package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain runs main instead of the tests when the test binary is started
// by TestExitStatus, so that test sees main's real exit status.
func TestMain(m *testing.M) {
	if os.Getenv("BULKCLAIM_RUN_MAIN") == "1" {
		os.Args = append([]string{"bulkclaim"}, strings.Fields(os.Getenv("BULKCLAIM_ARGS"))...)
		main()
		return
	}
	os.Exit(m.Run())
}

func TestExitStatus(t *testing.T) {
	tests := []struct {
		reason string
		args   string
		code   int
	}{
		{"-h prints the usage", "-h", 0},
		{"-postgres without a mode is a usage error, before any connection", "-postgres postgres://nobody@127.0.0.1:1/none", 2},
		{"an import without -acknowledge", "-import c.csv", 2},
		{"an unknown flag", "-nope", 2},
		{"work that fails", "-import missing.csv -acknowledge -demo-users 1", 1},
		{"an export that works", "-export c.csv -demo-users 5", 0},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		cmd := exec.Command(os.Args[0])
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "BULKCLAIM_RUN_MAIN=1", "BULKCLAIM_ARGS="+tt.args)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := errors.AsType[*exec.ExitError](err); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", tt.reason, err)
		}
		if code != tt.code {
			t.Errorf("%s: bulkclaim %s exited %d, want %d:\n%s", tt.reason, tt.args, code, tt.code, out)
		}
	}
}
