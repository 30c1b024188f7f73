/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small json-c helpers shared by the client, the daemon and the tests: a cleanup function and typed
 * accessors that treat a missing key and a wrong type alike (NULL / false / 0). */

#include <json-c/json.h>
#include <stdbool.h>

#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static inline json_object *jget(json_object *o, const char *key) {
        json_object *v = NULL;
        return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static inline const char *jstr(json_object *o, const char *key) {
        json_object *v = jget(o, key);
        return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static inline bool jbool(json_object *o, const char *key) {
        return json_object_get_boolean(jget(o, key));
}

static inline bool jnull(json_object *o, const char *key) {
        return !jget(o, key);
}

static inline size_t jlen(json_object *a) {
        return json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

static inline json_object *jidx(json_object *a, size_t i) {
        return json_object_array_get_idx(a, i);
}
