// Command ferretdb runs FerretDB v1 with its SQLite backend for local development and tests.
//
// A plain `go install` of FerretDB's own command panics on a missing version file,
// so this wrapper embeds the library and exposes the few flags we need.
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dataDir := flag.String("data", "data", "directory for the SQLite databases")
	pragmas := flag.String("sqlite-params", "", "query parameters for the SQLite URI, e.g. _pragma=synchronous(normal)")
	postgres := flag.String("postgresql-url", "", "use the PostgreSQL backend at this URL instead of SQLite")
	flag.Parse()

	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

	if err := os.MkdirAll(*dataDir, 0o755); err != nil {
		logger.Error("cannot create data directory", "dir", *dataDir, "error", err)
		os.Exit(1)
	}

	config := &ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL(*dataDir, *pragmas),
	}
	if *postgres != "" {
		config.Handler, config.SQLiteURL, config.PostgreSQLURL = "postgresql", "", *postgres
	}
	f, err := ferretdb.New(config)
	if err != nil {
		logger.Error("cannot start FerretDB", "error", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	go indexIDs(ctx, *dataDir, time.Second, logger)

	if err := f.Run(ctx); err != nil {
		logger.Error("FerretDB stopped", "error", err)
		os.Exit(1)
	}
}

// sqliteURL is the directory URI FerretDB expects ("file:DIR/"), with optional query parameters.
func sqliteURL(dir, params string) string {
	if params == "" {
		return "file:" + dir + "/"
	}
	return "file:" + dir + "/?" + params
}
