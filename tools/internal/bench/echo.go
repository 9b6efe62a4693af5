package bench

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	pagev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
)

// echoServerCmd is the hidden `bench echo-server`: it serves echoPages on a
// free loopback port, prints the address on its first stdout line, and runs
// until killed or until stdin closes.
func echoServerCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "echo-server",
		Short:  "Serve GetPages with a constant 8 KiB page (baseline of bench getpage)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			s := grpc.NewServer()
			pagev1.RegisterPageServiceServer(s, echoPages{})
			fmt.Fprintln(cmd.OutOrStdout(), l.Addr().String())
			go func() {
				// The parent holds our stdin: when it goes, we go.
				_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
				s.Stop()
			}()
			return s.Serve(l)
		},
	}
}

// startEchoProcess runs `stratactl bench echo-server` as a child process and
// returns a connection to it.
func startEchoProcess(ctx context.Context) (*grpc.ClientConn, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.CommandContext(ctx, self, "bench", "echo-server")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("start echo server: %w", err)
	}
	stop := func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("echo server address: %w", err)
	}
	conn, err := grpc.NewClient(strings.TrimSpace(addr), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		stop()
		return nil, nil, err
	}
	return conn, func() { conn.Close(); stop() }, nil
}
