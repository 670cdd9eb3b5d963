package handlers

import "errors"

func asErr[T error](err error, target *T) bool { return errors.As(err, target) }

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
