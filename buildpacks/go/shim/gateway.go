// On a swarm: a connection to the gateway through the function's relay, over TLS that trusts the platform's
// authority alone, opened by the line that proves which instance this is (" log" for the output's connection).
package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/url"
	"os"
	"sync"
	"time"
)

// dialer opens one connection to the host: a request connection with channel "", the output's with " log".
type dialer func(channel string) (net.Conn, error)

// unixDialer dials the host's sockets in the folder it mounted into this container (no line: the socket is this
// instance's alone).
func unixDialer(dir string) dialer {
	return func(channel string) (net.Conn, error) {
		name := "host.sock"
		if channel == " log" {
			name = "log.sock"
		}
		return net.Dial("unix", dir+"/"+name)
	}
}

const handshakeTimeout = 10 * time.Second

// gatewayDialer dials `address` (host:port) over TLS, accepting only a certificate for `name` that the authority in
// `authorityFile` signed, and writes `<id> <secret><channel>\n` before anything else.
func gatewayDialer(address, name, authorityFile, id string, secret []byte) dialer {
	var mu sync.Mutex
	var config *tls.Config
	load := func() (*tls.Config, error) {
		mu.Lock()
		defer mu.Unlock()
		if config != nil {
			return config, nil
		}
		pem, err := os.ReadFile(authorityFile)
		if err != nil {
			return nil, err
		}
		// A pool of this authority alone: the system's roots are never consulted.
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, errors.New("no certificate in " + authorityFile)
		}
		config = &tls.Config{RootCAs: roots, ServerName: name, MinVersion: tls.VersionTLS12}
		return config, nil
	}
	return func(channel string) (net.Conn, error) {
		config, err := load()
		if err != nil {
			return nil, err
		}
		// Go sets TCP_NODELAY itself: small answers leave at once.
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: handshakeTimeout}, "tcp", address, config)
		if err != nil {
			return nil, err
		}
		line := make([]byte, 0, len(id)+len(secret)+len(channel)+2)
		line = append(append(append(append(append(line, id...), ' '), secret...), channel...), '\n')
		if _, err := conn.Write(line); err != nil {
			_ = conn.Close()
			return nil, err
		}
		return conn, nil
	}
}

// gatewayAddress is LAMBDA_GATEWAY's host:port and host (e.g. tls://lambda-gateway:7443), or ok false when unset.
func gatewayAddress(value string) (address string, host string, ok bool) {
	if value == "" {
		return "", "", false
	}
	parsed, err := url.Parse(value)
	if err != nil || parsed.Host == "" {
		return "", "", false
	}
	return parsed.Host, parsed.Hostname(), true
}
