package handlers

import (
	"encoding/json"
	"reflect"
	"strings"
)

// typeFieldError turns a JSON type mismatch into the field it concerns and
// a zh-CN message naming the expected form ("student_id 应为整数"): clients
// never see Go type names. A mismatch of the whole body (an array or a
// string where an object belongs) is reported on the field "body".
func typeFieldError(ute *json.UnmarshalTypeError) (field, message string) {
	field = ute.Field
	if field == "" {
		return "body", "请求体应为" + jsonForm(ute.Type)
	}
	return field, field + " 应为" + jsonForm(ute.Type)
}

// jsonForm names, in Chinese, the JSON form a Go type decodes from.
func jsonForm(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "整数"
	case reflect.Float32, reflect.Float64:
		return "数字"
	case reflect.String:
		if t == reflect.TypeOf(json.Number("")) {
			return "数字"
		}
		return "字符串"
	case reflect.Bool:
		return "布尔值（true 或 false）"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t != reflect.TypeOf(json.RawMessage(nil)) {
			return "字符串"
		}
		return strings.TrimSuffix(jsonForm(t.Elem()), "（true 或 false）") + "数组"
	case reflect.Map, reflect.Struct:
		return " JSON 对象"
	}
	return "正确的类型"
}
