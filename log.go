package claim

import (
	"context"
	"log/slog"
	"time"
)

// The Service logs through its WithLogger logger (default: discard):
//
//   - ImportClaims, SyncDirectory and SyncDirectorySeq log their start and
//     their end at Info ("claim: import started", "claim: import done"),
//     the end with the counts of the report and the duration ("took"); one
//     that fails ends at Warn ("… failed") with its error code and error.
//     Each row or entry they refused goes at Debug, with its address.
//   - Sweep logs its start at Debug and its end with the counts and the
//     duration: at Info when it resolved or purged anyone, at Debug when
//     nothing was due, at Error when it failed (see Sweep); RunSweeper
//     logs its lease at Info (see RunSweeper).
//   - A transaction the store runs again goes at Debug with its SQLSTATE
//     (the PostgreSQL store; see ContextLogger).
//
// Addresses and names appear only at Debug, so a service logging at Info
// writes no personal data. Records of an operation on an org carry it
// ("org"), and those of import and sync the operation ("op").

// opLog logs the start of the operation op at Info and returns the
// function that logs its end: at Info with the counts and the duration,
// or at Warn with err when err is not nil.
func (s *Service) opLog(ctx context.Context, op string, attrs ...slog.Attr) func(err error, counts ...slog.Attr) {
	if !s.log.Enabled(ctx, slog.LevelWarn) {
		return func(error, ...slog.Attr) {}
	}
	start := time.Now()
	base := append([]slog.Attr{slog.String("op", op)}, attrs...)
	s.log.LogAttrs(ctx, slog.LevelInfo, "claim: "+op+" started", base...)
	return func(err error, counts ...slog.Attr) {
		end := append(append(base[:len(base):len(base)], counts...), slog.Duration("took", time.Since(start)))
		if err != nil {
			end = append(end, slog.String("code", ErrorCode(err)), slog.Any("error", err))
			s.log.LogAttrs(ctx, slog.LevelWarn, "claim: "+op+" failed", end...)
			return
		}
		s.log.LogAttrs(ctx, slog.LevelInfo, "claim: "+op+" done", end...)
	}
}

// debugRows logs each row of rows at Debug, with its address: what an
// import or a sync refused.
func (s *Service) debugRows(ctx context.Context, op string, org OrgID, rows []RowResult) {
	if !s.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	for _, r := range rows {
		s.log.LogAttrs(ctx, slog.LevelDebug, "claim: "+op+" row", slog.String("op", op), slog.String("org", string(org)),
			slog.Int("line", r.Line), slog.String("email", r.Email), slog.String("code", ErrorCode(r.Err)))
	}
}
