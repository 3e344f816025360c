package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the SQLite driver FerretDB itself uses
)

const idIndexSuffix = "__id_path"

// FerretDB 1.24's SQLite backend filters `{_id: <string or ObjectId>}` with
// `_ferretdb_sjson->'$._id' = ?`, but indexes `_id` on `_ferretdb_sjson->"_id"`: SQLite matches
// index expressions as written, so every lookup and update by _id scans the table. indexIDs adds,
// to every collection table, the index the pushed-down filter can use. Clients never see it
// (listIndexes reads FerretDB's own metadata) and dropping a collection drops it with the table.
func indexIDs(ctx context.Context, dataDir string, every time.Duration, logger *slog.Logger) {
	for {
		files, _ := filepath.Glob(filepath.Join(dataDir, "*.sqlite"))
		for _, file := range files {
			if err := indexFile(ctx, file); err != nil {
				logger.Error("cannot index _id", "file", file, "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

func indexFile(ctx context.Context, file string) error {
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()

	rows, err := db.QueryContext(ctx, `SELECT c.table_name FROM _ferretdb_collections c WHERE NOT EXISTS
		(SELECT 1 FROM sqlite_master m WHERE m.type = 'index' AND m.name = c.table_name || '`+idIndexSuffix+`')`)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var table string
		if err := rows.Scan(&table); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, table)
	}
	rows.Close()

	for _, table := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`, table+idIndexSuffix, table)
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}
