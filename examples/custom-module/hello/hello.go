// Package hello is an example of a third-party module kind: "hello", an
// HTTP server that answers every GET with a message. It shows the whole SDK
// on one page: a manifest with a config schema, a required permission and a
// hot-reloadable field; lifecycle methods; a goroutine the module's Context
// owns; Track for the request and error counters; a metric of its own; and
// Health, which gates the modules that depend on it.
package hello

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/zclconf/go-cty/cty"

	"github.com/nexus-run/nexus/modules"
)

// Manifest declares the kind: its name and version, what applying a module
// of it requires, and its config schema. Only message can change in place;
// a new listen address replaces the module.
func Manifest() modules.Manifest {
	return modules.Manifest{
		Kind:        "hello",
		Version:     "1.0.0",
		Description: "An HTTP server that answers every GET with a message: the custom-module example.",
		Permissions: []string{"hello.serve"},
		Config: modules.Schema{Attributes: map[string]*modules.Attribute{
			"listen":  {Type: cty.String, Required: true, Description: "The host:port to listen on."},
			"message": {Type: cty.String, Default: cty.StringVal("Hello from nexus!"), HotReload: true, Description: "What every GET answers."},
		}},
		// Validate runs in validate and plan, so a bad address is a
		// diagnostic on the config block, not a failed start.
		Validate: func(c modules.Config) error { _, err := decode(c); return err },
	}
}

// New is the kind's factory: one zero module per instance.
func New() modules.Module { return &Server{} }

// settings is the decoded config block.
type settings struct {
	Listen  string `json:"listen"`
	Message string `json:"message"`
}

func decode(c modules.Config) (settings, error) {
	var s settings
	if err := c.Decode(&s); err != nil {
		return s, err
	}
	if _, port, err := net.SplitHostPort(s.Listen); err != nil || port == "" {
		return s, fmt.Errorf("listen %q must be a host:port address, like \"127.0.0.1:9200\"", s.Listen)
	}
	return s, nil
}

// Server is the hello module. Its methods are safe for concurrent use.
type Server struct {
	modules.Base // Load and Unload do nothing

	mc     *modules.Context
	served prometheus.Counter

	mu      sync.Mutex
	message string
	srv     *http.Server // nil when not serving
	addr    string
}

// Init keeps the module's Context and creates its metric, exported as
// nexus_hello_greetings_total{module="<id>"}.
func (s *Server) Init(_ context.Context, mc *modules.Context) error {
	s.mc = mc
	s.served = mc.Metrics().Counter("greetings_total", "Greetings the hello module answered.")
	return nil
}

// Start listens (so that a taken port fails the start, not later) and
// serves in a goroutine the Context owns.
func (s *Server) Start(context.Context) error {
	cfg, err := decode(s.mc.Config())
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(s.greet), ReadHeaderTimeout: 5 * time.Second}
	s.mu.Lock()
	s.message, s.srv, s.addr = cfg.Message, srv, ln.Addr().String()
	s.mu.Unlock()
	// Serve returns when Stop shuts the server down. Returning on its own
	// (the listener broke) means the module exited: its restart policy
	// applies.
	s.mc.Go("serve", func(context.Context) error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	s.mc.Logger().Info("serving greetings", "listen", s.addr)
	return nil
}

// greet answers one request, counted by Track in the module's requests and
// errors (nexus status, the state's usage, nexus_module_requests_total).
func (s *Server) greet(w http.ResponseWriter, r *http.Request) {
	_ = s.mc.Track(r.Context(), "greet", func(context.Context) error {
		if r.Method != http.MethodGet {
			http.Error(w, "use GET", http.StatusMethodNotAllowed)
			return fmt.Errorf("%s request refused", r.Method)
		}
		s.mu.Lock()
		msg := s.message
		s.mu.Unlock()
		s.served.Inc()
		_, err := fmt.Fprintln(w, msg)
		return err
	})
}

// Reconfigure takes a new message in place: the schema marks only message
// HotReload, so nothing else can have changed.
func (s *Server) Reconfigure(_ context.Context, cfg modules.Config) error {
	c, err := decode(cfg)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.message = c.Message
	s.mu.Unlock()
	return nil
}

// Stop shuts the server down, letting requests in flight finish within the
// stop timeout; the serve goroutine then returns.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Shutdown(ctx)
}

// Health is ready while the server serves; dependents start only then.
func (s *Server) Health(context.Context) modules.Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return modules.Health{Status: modules.StatusUnhealthy, Live: true, Details: map[string]string{"detail": "not serving"}}
	}
	return modules.Healthy("serving on " + s.addr)
}

var (
	_ modules.Module       = (*Server)(nil)
	_ modules.Reconfigurer = (*Server)(nil)
)
