// Command nexus-echo is the quickstart's bus: a tiny HTTP service that
// accepts heartbeats. It listens on $LISTEN, answers GET /healthz, and
// accepts POST /beat when the bearer token matches $BUS_TOKEN, counting the
// beats it received (GET /beats). It exits cleanly on SIGTERM.
package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	addr := os.Getenv("LISTEN")
	if addr == "" {
		addr = "127.0.0.1:9100"
	}
	token := os.Getenv("BUS_TOKEN")
	var beats atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /beats", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, beats.Load()) })
	mux.HandleFunc("POST /beat", func(w http.ResponseWriter, r *http.Request) {
		if token != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+token)) != 1 {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		var beat struct {
			Module string `json:"module"`
			Seq    int64  `json:"seq"`
		}
		if err := json.NewDecoder(r.Body).Decode(&beat); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n := beats.Add(1)
		if n == 1 || n%10 == 0 {
			log.Printf("beat %d from %s (seq %d)", n, beat.Module, beat.Seq)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Printf("listening on %s", addr)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
	log.Printf("stopped after %d beats", beats.Load())
}
