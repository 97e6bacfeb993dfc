/* The C API against the fake: every call, every error path, every NULL.
 *
 * Run by tests/capi.rs with YCIAM_TEST_URL (the fake's https URL), YCIAM_TEST_CA,
 * YCIAM_TEST_WRONG_CA (an unrelated CA), YCIAM_TEST_OAUTH_TOKEN, YCIAM_TEST_VERSION,
 * and no YC_ credential variables (so the default chain finds nothing). */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "check.h"

static const char *oauth_token;
static const char *ca_file;

/* Outputs must stay untouched when a call fails: they start as these. */
static char untouched_text[] = "untouched";
#define UNTOUCHED (untouched_text)

static yciam_client *new_client(const char *credential) {
  char *json = fake_options(credential, ca_file);
  yciam_client *client = NULL;
  EXPECT_STATUS(yciam_client_new(json, &client), YCIAM_STATUS_OK);
  CHECK(client != NULL);
  free(json);
  return client;
}

static yciam_client *oauth_client(void) {
  char credential[512];
  snprintf(credential, sizeof credential, "\"oauth_token\":\"%s\"", oauth_token);
  return new_client(credential);
}

/* The last error on this thread: its message holds `want`, and no secret. */
static void check_last_error(const char *want) {
  char *msg = yciam_last_error_message();
  if (!contains(msg, want)) {
    fprintf(stderr, "last error %s does not mention %s\n", msg ? msg : "(NULL)", want);
    exit(1);
  }
  CHECK(!contains(msg, oauth_token));
  CHECK(!contains(msg, "t1."));
  yciam_string_free(msg);
}

static void check_no_last_error(void) {
  char *msg = yciam_last_error_message();
  CHECK(msg == NULL);
  char *rid = yciam_last_error_request_id();
  CHECK(rid == NULL);
  CHECK(yciam_last_error_http_status() == 0);
}

static void version_and_status_names(void) {
  CHECK(strcmp(yciam_version(), need_env("YCIAM_TEST_VERSION")) == 0);
  CHECK(strcmp(yciam_status_name(YCIAM_STATUS_OK), "YCIAM_STATUS_OK") == 0);
  CHECK(strcmp(yciam_status_name(YCIAM_STATUS_INVALID_ARGUMENT), "YCIAM_STATUS_INVALID_ARGUMENT") == 0);
  CHECK(strcmp(yciam_status_name(YCIAM_STATUS_NO_CREDENTIAL), "YCIAM_STATUS_NO_CREDENTIAL") == 0);
  CHECK(strcmp(yciam_status_name(YCIAM_STATUS_CREDENTIAL_REJECTED), "YCIAM_STATUS_CREDENTIAL_REJECTED") == 0);
  CHECK(strcmp(yciam_status_name(YCIAM_STATUS_NETWORK), "YCIAM_STATUS_NETWORK") == 0);
  CHECK(strcmp(yciam_status_name(YCIAM_STATUS_TIMEOUT), "YCIAM_STATUS_TIMEOUT") == 0);
  CHECK(strcmp(yciam_status_name(YCIAM_STATUS_SERVER), "YCIAM_STATUS_SERVER") == 0);
  CHECK(strcmp(yciam_status_name(YCIAM_STATUS_HTTP_ERROR), "YCIAM_STATUS_HTTP_ERROR") == 0);
  CHECK(strcmp(yciam_status_name(YCIAM_STATUS_BAD_RESPONSE), "YCIAM_STATUS_BAD_RESPONSE") == 0);
  CHECK(strcmp(yciam_status_name(YCIAM_STATUS_IO), "YCIAM_STATUS_IO") == 0);
  CHECK(strcmp(yciam_status_name(YCIAM_STATUS_PANIC), "YCIAM_STATUS_PANIC") == 0);
  /* The values are part of the ABI. */
  CHECK(YCIAM_STATUS_OK == 0 && YCIAM_STATUS_NETWORK == 4 && YCIAM_STATUS_PANIC == 10);
  CHECK(strcmp(yciam_status_name(11), "YCIAM_STATUS_UNKNOWN") == 0);
  CHECK(strcmp(yciam_status_name(UINT32_MAX), "YCIAM_STATUS_UNKNOWN") == 0);
}

static void token_is_cached_with_its_expiry(void) {
  yciam_client *client = oauth_client();
  char *token = UNTOUCHED;
  int64_t expires_at = -1;
  EXPECT_STATUS(yciam_client_token(client, &token, &expires_at), YCIAM_STATUS_OK);
  check_no_last_error();
  CHECK(token != UNTOUCHED && strncmp(token, "t1.", 3) == 0);
  int64_t now = (int64_t)time(NULL);
  CHECK(expires_at > now + 11 * 3600 && expires_at <= now + 12 * 3600 + 60);

  char *again = NULL;
  EXPECT_STATUS(yciam_client_token(client, &again, NULL), YCIAM_STATUS_OK);
  CHECK(strcmp(token, again) == 0);
  yciam_string_free(again);
  yciam_string_free(token);
  CHECK(yciam_client_last_error_message(client) == NULL);
  yciam_client_free(client);
}

static void requests_return_any_status(void) {
  yciam_client *client = oauth_client();
  const char *url = need_env("YCIAM_TEST_URL");
  char target[512];

  /* POST with headers and a body holding a NUL: the echo route reflects them. */
  snprintf(target, sizeof target, "%s/test/v1/echo?x=1", url);
  const uint8_t body[] = {'a', 0, 'b'};
  uint16_t status = 0;
  char *out = UNTOUCHED;
  size_t out_len = 12345;
  EXPECT_STATUS(yciam_client_request(client, "post", target,
                                     "X-Test: one\r\nContent-Type: application/json\n\n",
                                     body, sizeof body, &status, &out, &out_len),
                YCIAM_STATUS_OK);
  CHECK(status == 200);
  CHECK(out != UNTOUCHED && out_len == strlen(out) && out[out_len] == '\0');
  CHECK(contains(out, "\"method\":\"POST\""));
  CHECK(contains(out, "\"path\":\"/test/v1/echo\""));
  CHECK(contains(out, "\"query\":\"x=1\""));
  CHECK(contains(out, "\"x-test\":\"one\""));
  CHECK(contains(out, "\"authorization\":\"Bearer t1."));
  CHECK(contains(out, "\"body\":\"a\\u0000b\""));
  yciam_string_free(out);

  /* An empty body is a body; NULL headers are none. */
  EXPECT_STATUS(yciam_client_request(client, "PUT", target, NULL, (const uint8_t *)"", 0,
                                     &status, &out, &out_len),
                YCIAM_STATUS_OK);
  CHECK(status == 200 && contains(out, "\"method\":\"PUT\"") && contains(out, "\"body\":\"\""));
  yciam_string_free(out);

  /* A 404 is an answer, not a failure. */
  snprintf(target, sizeof target, "%s/test/v1/status/404", url);
  EXPECT_STATUS(yciam_client_request(client, "GET", target, NULL, NULL, 0, &status, &out, &out_len),
                YCIAM_STATUS_OK);
  CHECK(status == 404);
  CHECK(contains(out, "Requested status 404"));
  yciam_string_free(out);
  check_no_last_error();

  /* The Resource Manager list call, through the same door. */
  snprintf(target, sizeof target, "%s/resource-manager/v1/clouds?pageSize=2", url);
  EXPECT_STATUS(yciam_client_request(client, "GET", target, NULL, NULL, 0, &status, &out, &out_len),
                YCIAM_STATUS_OK);
  CHECK(status == 200 && contains(out, "\"clouds\":[") && contains(out, "nextPageToken"));
  yciam_string_free(out);
  yciam_client_free(client);
}

static void revoked_token_gets_401(void) {
  yciam_client *client = oauth_client();
  char *token = NULL;
  EXPECT_STATUS(yciam_client_token(client, &token, NULL), YCIAM_STATUS_OK);

  char *subject = UNTOUCHED;
  EXPECT_STATUS(yciam_client_revoke(client, token, &subject), YCIAM_STATUS_OK);
  CHECK(subject != UNTOUCHED && strlen(subject) > 0);
  yciam_string_free(subject);

  /* A client that uses the revoked token as is: the API answers 401. */
  char credential[1024];
  snprintf(credential, sizeof credential, "\"iam_token\":\"%s\"", token);
  yciam_client *stale = new_client(credential);
  char target[512];
  snprintf(target, sizeof target, "%s/test/v1/echo", need_env("YCIAM_TEST_URL"));
  uint16_t status = 0;
  char *out = NULL;
  size_t out_len = 0;
  EXPECT_STATUS(yciam_client_request(stale, "GET", target, NULL, NULL, 0, &status, &out, &out_len),
                YCIAM_STATUS_OK);
  CHECK(status == 401);
  CHECK(!contains(out, token));
  yciam_string_free(out);

  /* Revoking it again: refused, with the server's message and request id. */
  subject = UNTOUCHED;
  EXPECT_STATUS(yciam_client_revoke(stale, token, &subject), YCIAM_STATUS_CREDENTIAL_REJECTED);
  CHECK(subject == UNTOUCHED);
  check_last_error("HTTP 401");
  yciam_client_free(stale);

  /* The client that revoked it gets a new token for its next request. */
  EXPECT_STATUS(yciam_client_request(client, "GET", target, NULL, NULL, 0, &status, &out, &out_len),
                YCIAM_STATUS_OK);
  CHECK(status == 200);
  yciam_string_free(out);
  char *fresh = NULL;
  EXPECT_STATUS(yciam_client_token(client, &fresh, NULL), YCIAM_STATUS_OK);
  CHECK(strcmp(fresh, token) != 0);
  yciam_string_free(fresh);
  yciam_string_free(token);
  yciam_client_free(client);
}

static void bad_options_are_invalid_arguments(void) {
  static const char *const bad[] = {
      "{", "[]", "\"text\"", "{\"timeout_seconds\":-1}", "{\"timeout_seconds\":\"5\"}",
      "{\"no_cache\":1}", "{\"oauth_token\":\"a\",\"iam_token\":\"b\"}",
      "{\"iam_token\":\"t1.a.b\",\"iam_endpoint\":\"ftp://example.com\"}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    yciam_client *client = (yciam_client *)UNTOUCHED;
    yciam_status s = yciam_client_new(bad[i], &client);
    if (s != YCIAM_STATUS_INVALID_ARGUMENT) {
      fprintf(stderr, "options %s gave %s\n", bad[i], yciam_status_name(s));
      exit(1);
    }
    CHECK(client == (yciam_client *)UNTOUCHED);
    char *msg = yciam_last_error_message();
    CHECK(msg != NULL && strlen(msg) > 0);
    yciam_string_free(msg);
  }
  yciam_client *client = (yciam_client *)UNTOUCHED;
  EXPECT_STATUS(yciam_client_new("{\"colour\":\"red\"}", &client), YCIAM_STATUS_INVALID_ARGUMENT);
  check_last_error("colour");
  CHECK(yciam_last_error_http_status() == 0);
  char *rid = yciam_last_error_request_id();
  CHECK(rid == NULL);

  /* A token file that cannot be read. */
  EXPECT_STATUS(yciam_client_new("{\"oauth_token_file\":\"/nonexistent/yciam-token\"}", &client),
                YCIAM_STATUS_INVALID_ARGUMENT);
  check_last_error("/nonexistent/yciam-token");
  CHECK(client == (yciam_client *)UNTOUCHED);

  /* A success clears the thread's last error. */
  /* Reading the last error does not clear it; a success does. */
  char *msg = yciam_last_error_message();
  CHECK(msg != NULL);
  yciam_string_free(msg);
  yciam_client *ok = oauth_client();
  check_no_last_error();
  yciam_client_free(ok);
}

static void no_credential_lists_the_sources(void) {
  yciam_client *client = (yciam_client *)UNTOUCHED;
  EXPECT_STATUS(yciam_client_new(NULL, &client), YCIAM_STATUS_NO_CREDENTIAL);
  CHECK(client == (yciam_client *)UNTOUCHED);
  check_last_error("YC_IAM_TOKEN");
  check_last_error("YC_OAUTH_TOKEN");
  EXPECT_STATUS(yciam_client_new("{}", &client), YCIAM_STATUS_NO_CREDENTIAL);
  CHECK(client == (yciam_client *)UNTOUCHED);
}

static void refused_oauth_token_says_why_with_request_id(void) {
  yciam_client *client = new_client("\"oauth_token\":\"y0_NotAValidTokenForTheFake\"");
  char *token = UNTOUCHED;
  int64_t expires_at = -1;
  EXPECT_STATUS(yciam_client_token(client, &token, &expires_at), YCIAM_STATUS_CREDENTIAL_REJECTED);
  CHECK(token == UNTOUCHED && expires_at == -1);
  char *msg = yciam_last_error_message();
  char *rid = yciam_last_error_request_id();
  CHECK(contains(msg, "OAuth token is invalid or expired"));
  CHECK(contains(msg, "HTTP 401"));
  CHECK(rid != NULL && strlen(rid) > 0);
  CHECK(contains(msg, rid));
  CHECK(!contains(msg, "y0_NotAValidTokenForTheFake"));
  CHECK(yciam_last_error_http_status() == 401);
  /* The client remembers its last failure too, for any thread to read. */
  char *client_msg = yciam_client_last_error_message(client);
  CHECK(client_msg != NULL && strcmp(client_msg, msg) == 0);
  yciam_string_free(client_msg);
  yciam_string_free(rid);
  yciam_string_free(msg);

  /* The same error through a request. */
  uint16_t status = 999;
  char *out = UNTOUCHED;
  size_t out_len = 777;
  char target[512];
  snprintf(target, sizeof target, "%s/test/v1/echo", need_env("YCIAM_TEST_URL"));
  EXPECT_STATUS(yciam_client_request(client, "GET", target, NULL, NULL, 0, &status, &out, &out_len),
                YCIAM_STATUS_CREDENTIAL_REJECTED);
  CHECK(status == 999 && out == UNTOUCHED && out_len == 777);
  yciam_client_free(client);
}

static void wrong_ca_is_a_network_failure(void) {
  /* no_cache: a token cached by the other clients of this credential must not be used. */
  char credential[512];
  snprintf(credential, sizeof credential, "\"oauth_token\":\"%s\",\"no_cache\":true", oauth_token);
  char *json = fake_options(credential, need_env("YCIAM_TEST_WRONG_CA"));
  yciam_client *client = NULL;
  EXPECT_STATUS(yciam_client_new(json, &client), YCIAM_STATUS_OK);
  free(json);
  char *token = UNTOUCHED;
  EXPECT_STATUS(yciam_client_token(client, &token, NULL), YCIAM_STATUS_NETWORK);
  CHECK(token == UNTOUCHED);
  check_last_error("failed");
  CHECK(yciam_last_error_http_status() == 0);
  yciam_client_free(client);
}

static void bad_request_arguments(void) {
  yciam_client *client = oauth_client();
  uint16_t status = 999;
  char *out = UNTOUCHED;
  size_t out_len = 777;
  EXPECT_STATUS(yciam_client_request(client, "GET", "not a url", NULL, NULL, 0, &status, &out, &out_len),
                YCIAM_STATUS_INVALID_ARGUMENT);
  check_last_error("bad URL");
  char target[512];
  snprintf(target, sizeof target, "%s/test/v1/echo", need_env("YCIAM_TEST_URL"));
  EXPECT_STATUS(yciam_client_request(client, "GET", target, "no colon here", NULL, 0, &status, &out, &out_len),
                YCIAM_STATUS_INVALID_ARGUMENT);
  check_last_error("bad header");
  EXPECT_STATUS(yciam_client_request(client, "GET", target, "Authorization: Bearer x", NULL, 0, &status,
                                     &out, &out_len),
                YCIAM_STATUS_INVALID_ARGUMENT);
  check_last_error("Authorization");
  EXPECT_STATUS(yciam_client_request(client, "POST", target, NULL, NULL, 5, &status, &out, &out_len),
                YCIAM_STATUS_INVALID_ARGUMENT);
  check_last_error("body_len");
  CHECK(status == 999 && out == UNTOUCHED && out_len == 777);
  char *client_msg = yciam_client_last_error_message(client);
  CHECK(contains(client_msg, "body_len"));
  yciam_string_free(client_msg);
  yciam_client_free(client);
}

static void invalid_utf8_is_an_invalid_argument(void) {
  const char *bad = "\xff\xfe";
  yciam_client *client = (yciam_client *)UNTOUCHED;
  EXPECT_STATUS(yciam_client_new(bad, &client), YCIAM_STATUS_INVALID_ARGUMENT);
  check_last_error("UTF-8");
  CHECK(client == (yciam_client *)UNTOUCHED);

  client = oauth_client();
  char target[512];
  snprintf(target, sizeof target, "%s/test/v1/echo", need_env("YCIAM_TEST_URL"));
  uint16_t status = 999;
  char *out = UNTOUCHED;
  size_t out_len = 777;
  EXPECT_STATUS(yciam_client_request(client, bad, target, NULL, NULL, 0, &status, &out, &out_len),
                YCIAM_STATUS_INVALID_ARGUMENT);
  check_last_error("method");
  EXPECT_STATUS(yciam_client_request(client, "GET", bad, NULL, NULL, 0, &status, &out, &out_len),
                YCIAM_STATUS_INVALID_ARGUMENT);
  check_last_error("url");
  EXPECT_STATUS(yciam_client_request(client, "GET", target, "X-A: \xff", NULL, 0, &status, &out, &out_len),
                YCIAM_STATUS_INVALID_ARGUMENT);
  check_last_error("headers");
  CHECK(status == 999 && out == UNTOUCHED && out_len == 777);
  char *subject = UNTOUCHED;
  EXPECT_STATUS(yciam_client_revoke(client, bad, &subject), YCIAM_STATUS_INVALID_ARGUMENT);
  check_last_error("iam_token");
  CHECK(subject == UNTOUCHED);
  yciam_client_free(client);
}

static void null_arguments(void) {
  yciam_client *client = oauth_client();
  char target[512];
  snprintf(target, sizeof target, "%s/test/v1/echo", need_env("YCIAM_TEST_URL"));
  uint16_t status = 999;
  char *out = UNTOUCHED;
  size_t out_len = 777;

  EXPECT_STATUS(yciam_client_new("{}", NULL), YCIAM_STATUS_INVALID_ARGUMENT);
  check_last_error("client_out");

  EXPECT_STATUS(yciam_client_token(NULL, &out, NULL), YCIAM_STATUS_INVALID_ARGUMENT);
  check_last_error("client");
  EXPECT_STATUS(yciam_client_token(client, NULL, NULL), YCIAM_STATUS_INVALID_ARGUMENT);
  check_last_error("token_out");

  EXPECT_STATUS(yciam_client_request(NULL, "GET", target, NULL, NULL, 0, &status, &out, &out_len),
                YCIAM_STATUS_INVALID_ARGUMENT);
  check_last_error("client");
  EXPECT_STATUS(yciam_client_request(client, NULL, target, NULL, NULL, 0, &status, &out, &out_len),
                YCIAM_STATUS_INVALID_ARGUMENT);
  check_last_error("method");
  EXPECT_STATUS(yciam_client_request(client, "GET", NULL, NULL, NULL, 0, &status, &out, &out_len),
                YCIAM_STATUS_INVALID_ARGUMENT);
  check_last_error("url");
  EXPECT_STATUS(yciam_client_request(client, "GET", target, NULL, NULL, 0, NULL, &out, &out_len),
                YCIAM_STATUS_INVALID_ARGUMENT);
  check_last_error("status_out");
  EXPECT_STATUS(yciam_client_request(client, "GET", target, NULL, NULL, 0, &status, NULL, &out_len),
                YCIAM_STATUS_INVALID_ARGUMENT);
  check_last_error("body_out");
  EXPECT_STATUS(yciam_client_request(client, "GET", target, NULL, NULL, 0, &status, &out, NULL),
                YCIAM_STATUS_INVALID_ARGUMENT);
  check_last_error("body_len_out");
  CHECK(status == 999 && out == UNTOUCHED && out_len == 777);

  char *subject = UNTOUCHED;
  EXPECT_STATUS(yciam_client_revoke(NULL, "t1.x.y", &subject), YCIAM_STATUS_INVALID_ARGUMENT);
  check_last_error("client");
  EXPECT_STATUS(yciam_client_revoke(client, NULL, &subject), YCIAM_STATUS_INVALID_ARGUMENT);
  check_last_error("iam_token");
  EXPECT_STATUS(yciam_client_revoke(client, "t1.x.y", NULL), YCIAM_STATUS_INVALID_ARGUMENT);
  check_last_error("subject_id_out");
  CHECK(subject == UNTOUCHED);

  /* Nothing was sent for any of these: the client got no token yet. */
  yciam_client_free(NULL);
  yciam_string_free(NULL);
  CHECK(yciam_client_last_error_message(NULL) == NULL);
  yciam_client_free(client);
}

struct thread_result {
  int had_error_before;
  int has_own_error;
};

static void *other_thread(void *arg) {
  struct thread_result *r = arg;
  char *msg = yciam_last_error_message();
  r->had_error_before = msg != NULL;
  yciam_string_free(msg);
  yciam_client *client = (yciam_client *)UNTOUCHED;
  (void)yciam_client_new("{\"colour\":1}", &client);
  msg = yciam_last_error_message();
  r->has_own_error = contains(msg, "colour");
  yciam_string_free(msg);
  return NULL;
}

static void last_error_is_per_thread(void) {
  yciam_client *client = NULL;
  EXPECT_STATUS(yciam_client_new("{\"shade\":1}", &client), YCIAM_STATUS_INVALID_ARGUMENT);
  pthread_t t;
  struct thread_result r = {-1, -1};
  CHECK(pthread_create(&t, NULL, other_thread, &r) == 0);
  CHECK(pthread_join(t, NULL) == 0);
  CHECK(r.had_error_before == 0);
  CHECK(r.has_own_error == 1);
  check_last_error("shade");
}

int main(void) {
  oauth_token = need_env("YCIAM_TEST_OAUTH_TOKEN");
  ca_file = need_env("YCIAM_TEST_CA");
  version_and_status_names();
  token_is_cached_with_its_expiry();
  requests_return_any_status();
  revoked_token_gets_401();
  bad_options_are_invalid_arguments();
  no_credential_lists_the_sources();
  refused_oauth_token_says_why_with_request_id();
  wrong_ca_is_a_network_failure();
  bad_request_arguments();
  invalid_utf8_is_an_invalid_argument();
  null_arguments();
  last_error_is_per_thread();
  printf("test_capi: %d checks passed\n", checks_passed);
  return 0;
}
