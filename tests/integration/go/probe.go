// A statically linked Go program (CGO_ENABLED=0) for the seccomp engine's tests:
//
//	probe serve ADDR          net/http server; answers with the client's address as it sees it
//	probe get URL             one GET; prints the body and the connection's two addresses
//	probe load URL N KEEP     N GETs over 8 goroutines (KEEP: reuse connections or not); prints the errors
//	probe echo ADDR           TCP echo server
//	probe udpserve ADDR       UDP server; answers each datagram with the sender's address as it sees it
//	probe udpask ADDR         one exchange over a connected UDP socket and one over an unconnected one;
//	                          prints for each its own address and the answer
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
	case "udpserve":
		pc, err := net.ListenPacket("udp", os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("listening", pc.LocalAddr())
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo([]byte(fmt.Sprintf("you are %s: %s", from, buf[:n])), from)
		}
	case "udpask":
		to, _ := net.ResolveUDPAddr("udp", os.Args[2])
		buf := make([]byte, 2048)
		c, err := net.DialUDP("udp", nil, to)
		if err == nil {
			_, err = c.Write([]byte("connected"))
		}
		if err == nil {
			var n int
			n, err = c.Read(buf)
			fmt.Println("connected", c.LocalAddr(), "|", string(buf[:n]))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		u, err := net.ListenUDP("udp", nil)
		if err == nil {
			_, err = u.WriteToUDP([]byte("unconnected"), to)
		}
		if err == nil {
			var n int
			var from *net.UDPAddr
			n, from, err = u.ReadFromUDP(buf)
			fmt.Println("unconnected", u.LocalAddr(), "|", string(buf[:n]), "| from", from)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
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
