package claim

// The CSV method of claiming (SPEC section 10, method 2 of seed 000):
// ExportClaimable writes the users an org may claim, the admin edits the
// file, ImportClaims claims what it says. These are the types of its
// contract; the export and import themselves land with the CSV issue.

// ImportOptions are the options of ImportClaims.
type ImportOptions struct {
	Acknowledge bool            // the admin's acknowledgement (K1); required
	DryRun      bool            // check the whole file, claim nothing
	Licenses    []string        // granted on top of the org's AutoLicenses
	Progress    func(rows int)  // called at least every 1,000 rows and at the end
	OnRow       func(RowResult) // receives every row's result as it happens
}

// ImportReport is what ImportClaims did.
type ImportReport struct {
	Claimed, Refused, Skipped int
	Rows                      []RowResult // refused and skipped rows, in file order
	UnknownColumns            []string    // header names that were ignored
}

// RowResult is the result of one CSV row or directory entry.
type RowResult struct {
	Line  int    // 1-based line (or entry position)
	Email string // the row's address
	Mode  Mode   // the claim's mode
	Err   error  // nil: claimed
}
