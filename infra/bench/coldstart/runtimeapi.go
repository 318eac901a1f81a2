package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// sample is one cold start as the Runtime API saw it.
type sample struct {
	// init is process start until the first GET .../invocation/next: the
	// runtime, package initialisation and main up to lambda.Start.
	init time.Duration
	// first is process start until the first invocation's response.
	first time.Duration
	// maxRSSKB is the process's peak resident set (wait4's ru_maxrss).
	maxRSSKB int64
	// response is what the function answered.
	response []byte
	// stderr is the process's standard error (for GODEBUG=inittrace).
	stderr []byte
}

// invocationTimeout bounds one start; the functions answer in milliseconds.
const invocationTimeout = 15 * time.Second

// runtimeAPI is a minimal AWS Lambda Runtime API for one execution
// environment and one invocation: the first GET .../invocation/next gets the
// event; its POST .../response (or .../error) ends the run. A second /next
// blocks, as Lambda's does while no event is waiting.
type runtimeAPI struct {
	event []byte

	mu       sync.Mutex
	nexted   time.Time
	answered time.Time
	response []byte
	failure  string
	done     chan struct{}
	once     sync.Once
}

func (a *runtimeAPI) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", a.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", a.respond)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", a.fail)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", a.fail)
	return mux
}

func (a *runtimeAPI) next(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	first := a.nexted.IsZero()
	if first {
		a.nexted = time.Now()
	}
	a.mu.Unlock()
	if !first {
		<-r.Context().Done()
		return
	}
	w.Header().Set("Lambda-Runtime-Aws-Request-Id", "8476a536-e9f4-11e8-9739-2dfe598c3fcd")
	w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(invocationTimeout).UnixMilli()))
	w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:fleetclaim-coldstart")
	w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=0")
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(a.event)
}

func (a *runtimeAPI) respond(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 6<<20))
	a.mu.Lock()
	a.answered, a.response = time.Now(), b
	a.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	a.once.Do(func() { close(a.done) })
}

func (a *runtimeAPI) fail(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	a.mu.Lock()
	a.failure = r.URL.Path + ": " + string(b)
	a.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	a.once.Do(func() { close(a.done) })
}

// start runs bin once with env against a fresh Runtime API serving event,
// and stops it (as Lambda freezes it) after its first answer.
func start(bin string, env []string, event []byte) (sample, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return sample{}, err
	}
	api := &runtimeAPI{event: event, done: make(chan struct{})}
	srv := &http.Server{Handler: api.handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()

	var stderr bytes.Buffer
	cmd := exec.Command(bin) // #nosec G204 -- a bootstrap this program just built
	cmd.Env = append([]string{"AWS_LAMBDA_RUNTIME_API=" + l.Addr().String()}, env...)
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return sample{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-api.done:
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
	case err := <-exited:
		return sample{}, fmt.Errorf("exited before answering (%v): %s", err, lastLines(stderr.Bytes()))
	case <-time.After(invocationTimeout):
		_ = cmd.Process.Kill()
		<-exited
		return sample{}, errors.New("no answer within " + invocationTimeout.String())
	}

	api.mu.Lock()
	defer api.mu.Unlock()
	if api.failure != "" {
		return sample{}, fmt.Errorf("the function reported an error: %s", api.failure)
	}
	s := sample{init: api.nexted.Sub(began), first: api.answered.Sub(began), response: api.response, stderr: stderr.Bytes()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.maxRSSKB = ru.Maxrss // kilobytes on Linux
	}
	return s, nil
}

func lastLines(b []byte) string {
	const limit = 2000
	if len(b) > limit {
		b = b[len(b)-limit:]
	}
	return string(bytes.TrimSpace(b))
}
