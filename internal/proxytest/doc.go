// Package proxytest holds an integration test of the PROXY protocol
// against a real HAProxy (Debian's haproxy package) on loopback,
// terminating TLS as the README's snippet does.
package proxytest
