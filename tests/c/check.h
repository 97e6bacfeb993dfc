/* Tiny test helpers shared by the C programs that tests/capi.rs builds and runs. */
#ifndef YCIAM_TEST_CHECK_H
#define YCIAM_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yciam.h"

static int checks_passed;

/* Fails the program at once, naming the line: the Rust test prints our stderr. */
#define CHECK(cond)                                                               \
  do {                                                                            \
    if (!(cond)) {                                                                \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);    \
      exit(1);                                                                    \
    }                                                                             \
    checks_passed++;                                                              \
  } while (0)

/* A call that must return `want`; on a mismatch prints the status and message. */
#define EXPECT_STATUS(call, want)                                                 \
  do {                                                                            \
    yciam_status got_ = (call);                                                   \
    if (got_ != (want)) {                                                         \
      char *msg_ = yciam_last_error_message();                                    \
      fprintf(stderr, "%s:%d: %s returned %s, wanted %s: %s\n", __FILE__,         \
              __LINE__, #call, yciam_status_name(got_), yciam_status_name(want),  \
              msg_ ? msg_ : "(no message)");                                      \
      yciam_string_free(msg_);                                                    \
      exit(1);                                                                    \
    }                                                                             \
    checks_passed++;                                                              \
  } while (0)

/* A required environment variable (set by tests/capi.rs). */
static inline const char *need_env(const char *name) {
  const char *v = getenv(name);
  if (v == NULL || *v == '\0') {
    fprintf(stderr, "the environment variable %s is not set\n", name);
    exit(2);
  }
  return v;
}

/* Whether `haystack` (may be NULL) contains `needle`. */
static inline int contains(const char *haystack, const char *needle) {
  return haystack != NULL && strstr(haystack, needle) != NULL;
}

/* JSON options for a client of the fake: {"oauth_token": ..., "iam_endpoint": ..., ...}.
 * `credential` is a JSON fragment such as "\"oauth_token\":\"y0_...\"" (or "" for none).
 * Returns a malloc'd string. */
static inline char *fake_options(const char *credential, const char *ca_file) {
  const char *url = need_env("YCIAM_TEST_URL");
  size_t n = strlen(credential) + strlen(url) * 2 + strlen(ca_file) + 200;
  char *json = malloc(n);
  if (json == NULL) exit(3);
  snprintf(json, n,
           "{%s%s\"iam_endpoint\":\"%s\",\"resource_manager_endpoint\":\"%s\","
           "\"ca_file\":\"%s\",\"timeout_seconds\":10}",
           credential, *credential ? "," : "", url, url, ca_file);
  return json;
}

#endif /* YCIAM_TEST_CHECK_H */
