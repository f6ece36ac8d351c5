package rbac

import (
	"reflect"
	"runtime"
)

// reflectFuncName names a function value, to check which one a field holds.
func reflectFuncName(f any) string {
	return runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
}
