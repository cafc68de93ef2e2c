package config

import "testing"

func TestValidOrigin(t *testing.T) {
	for _, o := range []string{"https://support.example.com", "http://127.0.0.1:8080", "https://[::1]:443"} {
		if !ValidOrigin(o) {
			t.Errorf("%q should be a valid origin", o)
		}
	}
	for _, o := range []string{"", "*", "https://*.example.com", "support.example.com", "https://a.example/", "https://a.example/path",
		"ftp://a.example", "https://user@a.example", "https://a.example;script-src *", "'none'", "https://a.example?x", "HTTPS://A.example"} {
		if ValidOrigin(o) {
			t.Errorf("%q should not be accepted as an origin", o)
		}
	}
}
