// A statically linked Go program (CGO_ENABLED=0) for the seccomp engine's tests:
//
//	probe serve ADDR          net/http server; answers with the client's address as it sees it
//	probe get URL             one GET; prints the body and the connection's two addresses
//	probe load URL N KEEP     N GETs over 8 goroutines (KEEP: reuse connections or not); prints the errors
//	probe echo ADDR           TCP echo server
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
)

func main() {
	switch os.Args[1] {
	case "serve":
		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello from go, you are %s\n", r.RemoteAddr)
		})
		ln, err := net.Listen("tcp", os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("listening", ln.Addr())
		http.Serve(ln, nil)
	case "get":
		var local, remote string
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
			local, remote = info.Conn.LocalAddr().String(), info.Conn.RemoteAddr().String()
		}}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", os.Args[2], nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		body, _ := io.ReadAll(resp.Body)
		fmt.Print(string(body))
		fmt.Println("local", local, "remote", remote)
	case "load":
		n, _ := strconv.Atoi(os.Args[3])
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: os.Args[4] != "keep", MaxIdleConnsPerHost: 8}}
		var errors, next int64
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for atomic.AddInt64(&next, 1) <= int64(n) {
					resp, err := client.Get(os.Args[2])
					if err == nil {
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					if err != nil {
						atomic.AddInt64(&errors, 1)
						fmt.Fprintln(os.Stderr, err)
					}
				}
			}()
		}
		wg.Wait()
		fmt.Println("errors", errors)
	case "echo":
		ln, err := net.Listen("tcp", os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("listening", ln.Addr())
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}
}
