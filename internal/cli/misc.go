package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nexus-run/nexus/internal/api"
	"github.com/nexus-run/nexus/internal/audit"
	"github.com/nexus-run/nexus/internal/rbac"
)

func (a *App) auditCommand() *cobra.Command {
	var jsonOut bool
	var since string
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read the daemon's audit log",
		Long: `Audit prints the audit records of the last --since (a duration like 24h, or
an RFC 3339 time) through the daemon (permission audit.read).
"nexus audit verify FILE" checks a copy of the log's hash chain offline.`,
		Example: `  nexus audit --since 1h
  nexus audit --json --since 2024-05-01T00:00:00Z | jq 'select(.outcome == "denied")'
  nexus audit verify /var/lib/nexus/audit.log`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.Audit(cmd.Context(), since)
			if err != nil {
				return a.explain(err)
			}
			if jsonOut {
				enc := json.NewEncoder(a.Stdout)
				for _, r := range resp.Records {
					if err := enc.Encode(r); err != nil {
						return err
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tTIME\tTYPE\tPRINCIPAL\tOUTCOME\tMODULE\tDETAILS")
			for _, r := range resp.Records {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Seq, r.Time.Local().Format("2006-01-02 15:04:05"),
					r.Type, r.Principal, r.Outcome, r.Module, details(r.Details))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the records as JSON lines")
	cmd.Flags().StringVar(&since, "since", "24h", "how far back: a duration like 24h, or an RFC 3339 time")
	verify := &cobra.Command{
		Use:   "verify FILE",
		Short: "Check an audit log's hash chain",
		Long: `Verify reads an audit log file and checks every record's hash and its link
to the one before: an edited, inserted or deleted record, or a truncated
file, is reported with its line number, and verify exits 1.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			rep, err := audit.Verify(f)
			if err != nil {
				return &exitError{code: 1, err: fmt.Errorf("%s: %w", args[0], err)}
			}
			fmt.Fprintf(a.Stdout, "%s: intact: %d records, the last seq %d with hash %s.\n", args[0], rep.Records, rep.Head.Seq, rep.Head.Hash)
			return nil
		},
	}
	cmd.AddCommand(verify)
	return cmd
}

func details(m map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, " ")
}

func (a *App) secretsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "Write, remove and list secrets of a writable provider",
		Long: `Secrets writes secrets through the daemon into a writable provider (the file
provider: 0600 files in a 0700 directory). The value is read from stdin, so
it never appears in your shell history or the process list; it goes to the
provider and nowhere else. Needs the permission secret.write.`,
	}
	put := &cobra.Command{
		Use:   "put PROVIDER PATH [KEY]",
		Short: "Write a secret, the value read from stdin",
		Example: `  printf %s "$BUS_TOKEN" | nexus secrets put file bus/token
  printf %s "$API_KEY" | nexus secrets put file heartbeat api_key`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			value, err := io.ReadAll(io.LimitReader(a.Stdin, 1<<20))
			if err != nil {
				return err
			}
			v := strings.TrimSuffix(string(value), "\n")
			if v == "" {
				return errors.New("no value on stdin: pipe the secret in, like: printf %s \"$TOKEN\" | nexus secrets put file app/token")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			req := secretRequest(args)
			req.Value = v
			if err := c.SecretPut(cmd.Context(), req); err != nil {
				return a.explain(err)
			}
			fmt.Fprintf(a.Stdout, "Wrote secret %s.\n", strings.Join(args, " "))
			return nil
		},
	}
	rm := &cobra.Command{
		Use: "rm PROVIDER PATH [KEY]", Short: "Remove a secret", Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := c.SecretDelete(cmd.Context(), secretRequest(args)); err != nil {
				return a.explain(err)
			}
			fmt.Fprintf(a.Stdout, "Removed secret %s.\n", strings.Join(args, " "))
			return nil
		},
	}
	var prefix string
	ls := &cobra.Command{
		Use: "ls [PROVIDER]", Short: "List secret paths (never values)", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			provider := "file"
			if len(args) == 1 {
				provider = args[0]
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.SecretList(cmd.Context(), provider, prefix)
			if err != nil {
				return a.explain(err)
			}
			for _, p := range resp.Paths {
				fmt.Fprintln(a.Stdout, p)
			}
			return nil
		},
	}
	ls.Flags().StringVar(&prefix, "prefix", "", "list only paths under this prefix")
	cmd.AddCommand(put, rm, ls)
	return cmd
}

func secretRequest(args []string) *api.SecretRequest {
	req := &api.SecretRequest{Provider: args[0], Path: args[1]}
	if len(args) == 3 {
		req.Key = args[2]
	}
	return req
}

func (a *App) tokenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Make the hashes that let principals use API tokens",
		Long: `Token helps give a principal an API token. The daemon config keeps only the
token's SHA-256 (a principal's token_sha256); the token itself goes to whoever
uses it, as --token or NEXUS_TOKEN.`,
	}
	hash := &cobra.Command{
		Use:   "hash",
		Short: "Print the SHA-256 of a token read from stdin, for a principal's token_sha256",
		Example: `  openssl rand -hex 32 > ci.token
  nexus token hash < ci.token          # paste into principal "ci" { token_sha256 = "..." }`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			line, err := bufio.NewReader(io.LimitReader(a.Stdin, 1<<16)).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			tok := strings.TrimRight(line, "\r\n")
			if tok == "" {
				return errors.New("no token on stdin: pipe it in, like: nexus token hash < ci.token")
			}
			fmt.Fprintln(a.Stdout, rbac.HashToken(tok))
			return nil
		},
	}
	cmd.AddCommand(hash)
	return cmd
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
