package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/encoo-tools/imgup/internal/console"
	"github.com/encoo-tools/imgup/internal/update"
)

func newServeCmd(env *Env) *cobra.Command {
	var at where
	var listen, cert, key string
	var insecure bool
	var maxUpload, keepFree int64
	c := &cobra.Command{
		Use:   "serve [-C ROOT] [--listen ADDR]",
		Short: "Open the web console: upload archives, see the plan, apply, watch it live, roll back",
		Long: `Serve imgup's web console for this deployment, for operators who would rather use a
browser than a shell on the server. It does what the commands do, with the same checks:

  Overview   the status table, its findings and how to fix each
  Upload     drag and drop archives and bundles into <root>/image/; a broken upload
             continues where it stopped, also after the console restarts
  Plan       pick archives; see every file edit as a diff of the exact bytes, the
             bundle's signature and constraints, the restart and what is verified
  Apply      a live view of each stage, the restart's output and the verification
             table; closing the browser does not stop the update
  History    every update with its report (markdown, JSON) and a rollback button

It listens on 127.0.0.1:8765 and prints a URL holding a login token (new at each start,
kept in <root>/.imgup/console-token, mode 0600). From a laptop, reach it through an SSH
tunnel:

  ssh -L 8765:127.0.0.1:8765 root@SERVER      then open the printed URL

Listening on another address needs --tls-cert and --tls-key, or --insecure-http (the
token and your session then cross the network in clear).

Uploads reserve their declared size when they start, counting every upload under way,
and never take the last 5 % of the disk (at most 1 GiB; --keep-free): the disk holds the
deployment and its database too. A chunk that stops moving for 60 s ends, and the
upload resumes from what arrived. Parts are written only into the deployment's own
.imgup/uploads (never through a symlink); image/ may be a symlink to another disk.

One apply or rollback runs at a time per deployment: an update started in a shell
shows in the console as running, and each waits for the lock the other holds.
Stop the console with Ctrl-C; an update it runs is then undone, as with apply.`,
		Example: `  imgup serve -C /console/consolev4pvt-4.1.150431
  imgup serve --listen 10.0.0.5:8443 --tls-cert server.crt --tls-key server.key`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			host, _, err := net.SplitHostPort(listen)
			if err != nil {
				return usageError("--listen %q: write HOST:PORT, e.g. 127.0.0.1:8765", listen)
			}
			tls := cert != "" || key != ""
			if tls && (cert == "" || key == "") {
				return usageError("--tls-cert and --tls-key go together")
			}
			if !loopback(host) && !tls && !insecure {
				return usageError("--listen %s is reachable from the network: give --tls-cert and --tls-key, or --insecure-http if the network is trusted (or use an SSH tunnel to 127.0.0.1)", listen)
			}
			t, err := at.target()
			if err != nil {
				return err
			}
			root, _, err := update.History(ctx, t.Dir)
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			srv, err := console.New(ctx, console.Options{Service: env.service(), Target: t, Root: root, MaxUpload: maxUpload, KeepFree: keepFree, Secure: tls, Log: log})
			if err != nil {
				return err
			}
			defer srv.Close()
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			scheme := "http"
			if tls {
				scheme = "https"
			}
			if !loopback(host) && !tls {
				env.tr().Fprintf(env.Stderr, "imgup: WARNING: serving plain HTTP on %s: anyone on the network path can read the token and take over the session\n", ln.Addr())
			}
			shown := ln.Addr().String()
			if h, p, err := net.SplitHostPort(shown); err == nil && (h == "0.0.0.0" || h == "::") {
				shown = net.JoinHostPort("127.0.0.1", p)
			}
			env.tr().Fprintf(env.Stdout, "imgup console for %s\n\n    %s://%s/login?token=%s\n\nOpen that URL (from a laptop: ssh -L %s:127.0.0.1:%s SERVER first). Ctrl-C stops the console.\n",
				root, scheme, shown, srv.Token(), portOf(shown), portOf(shown))
			// ReadTimeout bounds every request's body (a slow POST /login holds nothing);
			// an upload chunk pushes its own deadline forward while its bytes move.
			hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
				BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) }}
			errc := make(chan error, 1)
			go func() {
				if tls {
					errc <- hs.ServeTLS(ln, cert, key)
				} else {
					errc <- hs.Serve(ln)
				}
			}()
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
			}
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			hs.Shutdown(sctx)
			if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			fmt.Fprintln(env.Stderr, env.tr().T("imgup: console stopped"))
			return nil
		},
	}
	at.register(c)
	c.Flags().StringVar(&listen, "listen", "127.0.0.1:8765", "the address to listen on (HOST:PORT); beyond loopback it needs TLS or --insecure-http")
	c.Flags().StringVar(&cert, "tls-cert", "", "serve HTTPS with this certificate (PEM)")
	c.Flags().StringVar(&key, "tls-key", "", "the certificate's private key (PEM)")
	c.Flags().BoolVar(&insecure, "insecure-http", false, "allow plain HTTP beyond loopback (prints a warning)")
	c.Flags().Int64Var(&maxUpload, "max-upload", 64<<30, "the largest file an upload may be, in bytes")
	c.Flags().Int64Var(&keepFree, "keep-free", 0, "free space uploads never take, in bytes (default: 5% of the filesystem, at most 1 GiB)")
	return c
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}
