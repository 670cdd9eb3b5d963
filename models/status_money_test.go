package models_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"kehou/models"
	"kehou/models/modelstest"
)

// TestOrderStatusSQLAgrees: the order status the SQL derives (the money
// invariant reads it) is DeriveOrderStatus's, on every combination of
// ledger sums around the boundaries, on the engine under test.
func TestOrderStatusSQLAgrees(t *testing.T) {
	db := modelstest.MustOpenDB(t)
	vals := []int64{0, 50, 100}
	var cases []models.LedgerSums
	for _, c := range []int64{100} {
		for _, w := range vals {
			for _, k := range []int64{0, 10} {
				for _, v := range vals {
					for _, p := range vals {
						for _, r := range vals {
							cases = append(cases, models.LedgerSums{Charge: c, Waiver: w, Credit: k, Void: v, Payment: p, Refund: r})
						}
					}
				}
			}
		}
	}
	n := func(x int64) string { return fmt.Sprintf("CAST(%d AS BIGINT)", x) }
	for _, s := range cases {
		var got string
		q := "SELECT " + models.OrderStatusSQL(n(s.Charge), n(s.Waiver), n(s.Credit), n(s.Void), n(s.Payment), n(s.Refund))
		if err := db.R.WithContext(context.Background()).Raw(q).Scan(&got).Error; err != nil {
			t.Fatal(err)
		}
		if want := models.DeriveOrderStatus(s); models.OrderStatus(got) != want {
			t.Fatalf("%+v: SQL says %s, DeriveOrderStatus %s", s, got, want)
		}
	}
}

// TestMoneyVocabularyAgrees: openapi.yaml lists the order statuses of
// status_money.go wherever it names them, and the schema's defaults of
// pay_orders.state and pay_refunds.status are the first of their sets.
func TestMoneyVocabularyAgrees(t *testing.T) {
	var words []string
	for _, s := range models.OrderStatuses() {
		words = append(words, string(s))
		if !s.Valid() {
			t.Errorf("%s is not Valid", s)
		}
	}
	if models.OrderStatus("owing").Valid() {
		t.Error("owing is Valid")
	}
	api, err := os.ReadFile(filepath.Join("..", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	enums := regexp.MustCompile(`enum: \[([a-z_, ]*\bpartially_refunded\b[a-z_, ]*)\]`).FindAllStringSubmatch(string(api), -1)
	if len(enums) < 2 {
		t.Fatalf("openapi.yaml names the order statuses %d times, want the list filter and the Order schema at least", len(enums))
	}
	for _, m := range enums {
		if got := strings.Split(m[1], ", "); !slices.Equal(got, words) {
			t.Errorf("openapi.yaml lists order statuses %v, status_money.go %v", got, words)
		}
	}

	db := modelstest.MustOpenDB(t)
	state, refund := models.PayDefaults()
	for _, c := range []struct{ table, column, want string }{
		{"pay_orders", "state", string(state)}, {"pay_refunds", "status", string(refund)},
	} {
		var def string
		q := fmt.Sprintf("SELECT COALESCE(dflt_value, '') FROM pragma_table_info('%s') WHERE name = '%s'", c.table, c.column)
		if db.Dialect == models.Postgres {
			q = fmt.Sprintf(`SELECT COALESCE(column_default, '') FROM information_schema.columns
				WHERE table_schema = current_schema() AND table_name = '%s' AND column_name = '%s'`, c.table, c.column)
		}
		if err := db.R.Raw(q).Scan(&def).Error; err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(def, "'"+c.want+"'") {
			t.Errorf("%s.%s defaults to %s, the Go set starts with %s", c.table, c.column, def, c.want)
		}
	}
}

// TestMoneyLiteralsOnlyInStatusMoneyGo: no SQL in models spells an order
// status, a ledger kind or a pay state by hand (they are rendered from
// status_money.go). "closed" is left out: offerings and schools have a
// closed of their own, not yet typed.
func TestMoneyLiteralsOnlyInStatusMoneyGo(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "status_money.go" || f == "status.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, w := range models.MoneyWords() {
				if w != "closed" && strings.Contains(line, "'"+w+"'") {
					t.Errorf("%s:%d spells %q: render it from status_money.go (sqlText, sqlList)", f, i+1, w)
				}
			}
		}
	}
}
