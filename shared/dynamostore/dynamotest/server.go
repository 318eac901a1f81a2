package dynamotest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// errNoNode means dynalite cannot run here at all: the one case in which the
// DynamoDB tests may be skipped (outside CI).
var errNoNode = errors.New("node is not installed")

// server is a dynalite process that this test process started.
type server struct {
	cmd      *exec.Cmd
	endpoint string
}

// start installs dynalite if needed (through infra/scripts/dynalite.sh, the
// one place that pins its version) and runs it on a free loopback port.
func start() (*server, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("node"); err != nil {
		return nil, errNoNode
	}
	install := exec.Command("bash", filepath.Join(root, "infra", "scripts", "dynalite.sh"), "install") // #nosec G204 -- the repository's own script
	var progress bytes.Buffer
	install.Stderr = &progress
	out, err := install.Output()
	if err != nil {
		return nil, fmt.Errorf("install dynalite: %w: %s", err, bytes.TrimSpace(progress.Bytes()))
	}
	cli := strings.TrimSpace(string(out))
	// The free port is released before dynalite binds it, so another
	// process may take it in between: try a few.
	for attempt := 1; ; attempt++ {
		s, err := run(cli)
		if err == nil || attempt == 3 {
			return s, err
		}
	}
}

func run(cli string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("node", cli, "--host", "127.0.0.1", "--port", strconv.Itoa(port), // #nosec G204 -- cli is the path dynalite.sh installed
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	cmd.SysProcAttr = sysProcAttr()
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start dynalite: %w", err)
	}
	// dynalite prints one line once it listens; a process that exits first
	// (port taken) closes stdout instead.
	ready := make(chan bool, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		ready <- lines.Scan() && strings.HasPrefix(lines.Text(), "Dynalite listening")
		_, _ = io.Copy(io.Discard, stdout)
	}()
	s := &server{cmd: cmd, endpoint: "http://127.0.0.1:" + strconv.Itoa(port)}
	select {
	case ok := <-ready:
		if ok {
			return s, nil
		}
	case <-time.After(10 * time.Second):
	}
	s.stop()
	return nil, fmt.Errorf("dynalite did not start listening on %s", s.endpoint)
}

func (s *server) stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// repoRoot is the directory of go.mod above the working directory, which
// go test sets to the package's directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
