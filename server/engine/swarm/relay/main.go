// The relay between one function's overlay network and the gateway: it ends the TLS connections the function's
// instances open (with the certificate the platform signed, which they pin) and joins each to the gateway's Unix
// socket for that function, where the instance proves itself with its instance secret. A static binary, alone in an
// image FROM scratch, run on the manager with nothing mounted but that function's socket folder and its certificate.
package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// A handshake not finished in this time is dropped: a client that opens connections and says nothing holds none long.
const handshakeTimeout = 5 * time.Second

func main() {
	if len(os.Args) != 6 {
		fail("usage: relay <listen address> <certificate> <key> <gateway socket> <most connections at once>")
	}
	listen, certFile, keyFile, target := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	most, err := strconv.Atoi(os.Args[5])
	if err != nil || most < 1 {
		fail("most connections at once: a number above 0")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		fail(err.Error())
	}
	listener, err := tls.Listen("tcp", listen, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13})
	if err != nil {
		fail(err.Error())
	}
	fmt.Printf("relaying %s to %s\n", listen, target)
	// The bound on connections: what an instance (hostile code) can grow here is at most `most` goroutine pairs.
	slots := make(chan struct{}, most)
	for {
		conn, err := listener.Accept()
		if err != nil {
			continue
		}
		select {
		case slots <- struct{}{}:
			go func() {
				defer func() { <-slots }()
				relay(conn.(*tls.Conn), target)
			}()
		default:
			conn.Close()
		}
	}
}

func relay(client *tls.Conn, target string) {
	defer client.Close()
	client.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := client.Handshake(); err != nil {
		return
	}
	client.SetDeadline(time.Time{})
	gateway, err := net.Dial("unix", target)
	if err != nil {
		return
	}
	defer gateway.Close()
	var wait sync.WaitGroup
	wait.Add(2)
	go func() {
		defer wait.Done()
		io.Copy(gateway, client)
		gateway.(*net.UnixConn).CloseWrite()
	}()
	go func() {
		defer wait.Done()
		io.Copy(client, gateway)
		client.CloseWrite()
	}()
	wait.Wait()
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, message)
	os.Exit(1)
}
