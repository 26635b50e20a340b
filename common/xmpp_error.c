#include <string.h>

#include "xmpp_error.h"

const char *
xr_error_type(const char *type)
{
	static const char *const types[] = {
	    "auth", "cancel", "continue", "modify", "wait"};

	for (size_t i = 0; type != NULL && i < sizeof(types) / sizeof(*types);
	     i++) {
		if (strcmp(type, types[i]) == 0)
			return types[i];
	}
	return "cancel";
}

const char *
xr_error_condition(const char *condition)
{
	size_t n = condition ? strlen(condition) : 0;

	if (n == 0 || n > XR_CONDITION_MAX ||
	    strspn(condition, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
		return "undefined-condition";
	return condition;
}
