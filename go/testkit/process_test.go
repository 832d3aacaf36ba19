package testkit

import "testing"

func TestServingAddr(t *testing.T) {
	for _, tc := range []struct {
		line                   string
		wantListener, wantAddr string
		wantOK                 bool
	}{
		{`{"msg":"serving gRPC","listener":"api","addr":"127.0.0.1:50051"}`, "api", "127.0.0.1:50051", true},
		{`{"msg":"serving HTTP","listener":"admin","addr":"[::1]:5001"}`, "admin", "[::1]:5001", true},
		{`{"msg":"gRPC server drained","listener":"api"}`, "", "", false},
		{`{"msg":"serving gRPC"}`, "", "", false},
		{`not json`, "", "", false},
	} {
		listener, addr, ok := servingAddr([]byte(tc.line))
		if listener != tc.wantListener || addr != tc.wantAddr || ok != tc.wantOK {
			t.Errorf("servingAddr(%s): got (%q, %q, %t), want (%q, %q, %t)", tc.line, listener, addr, ok, tc.wantListener, tc.wantAddr, tc.wantOK)
		}
	}
}
