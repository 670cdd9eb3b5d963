package models

// RecordLoginFailure lets tests count failed logins directly.
var RecordLoginFailure = recordLoginFailure
