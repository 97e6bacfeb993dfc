/* One client shared by 16 threads, 1000 token calls each: every call gets the same
 * token, and tests/capi.rs checks the fake saw exactly one token exchange.
 * Each thread also fails one call on purpose: its last error is its own. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>

#include "check.h"

#define THREADS 16
#define CALLS 1000

static yciam_client *client;
static pthread_barrier_t start;

struct result {
  char *first_token;
  int mismatches;
  int failures;
  int error_isolated;
};

static void *worker(void *arg) {
  struct result *r = arg;
  pthread_barrier_wait(&start);
  for (int i = 0; i < CALLS; i++) {
    char *token = NULL;
    if (yciam_client_token(client, &token, NULL) != YCIAM_STATUS_OK) {
      r->failures++;
      continue;
    }
    if (r->first_token == NULL) {
      r->first_token = token;
      continue;
    }
    if (strcmp(token, r->first_token) != 0) r->mismatches++;
    yciam_string_free(token);
  }
  /* A failure on this thread is seen on this thread only, and cleared by a success. */
  if (yciam_client_token(client, NULL, NULL) == YCIAM_STATUS_INVALID_ARGUMENT) {
    char *msg = yciam_last_error_message();
    r->error_isolated = contains(msg, "token_out");
    yciam_string_free(msg);
    char *token = NULL;
    if (yciam_client_token(client, &token, NULL) == YCIAM_STATUS_OK) {
      msg = yciam_last_error_message();
      if (msg != NULL) r->error_isolated = 0;
      yciam_string_free(msg);
      yciam_string_free(token);
    }
  }
  return NULL;
}

int main(void) {
  char credential[512];
  snprintf(credential, sizeof credential, "\"oauth_token\":\"%s\"", need_env("YCIAM_TEST_OAUTH_TOKEN"));
  char *json = fake_options(credential, need_env("YCIAM_TEST_CA"));
  EXPECT_STATUS(yciam_client_new(json, &client), YCIAM_STATUS_OK);
  free(json);

  pthread_t threads[THREADS];
  struct result results[THREADS];
  memset(results, 0, sizeof results);
  CHECK(pthread_barrier_init(&start, NULL, THREADS) == 0);
  for (int i = 0; i < THREADS; i++) CHECK(pthread_create(&threads[i], NULL, worker, &results[i]) == 0);
  for (int i = 0; i < THREADS; i++) CHECK(pthread_join(threads[i], NULL) == 0);
  CHECK(pthread_barrier_destroy(&start) == 0);

  for (int i = 0; i < THREADS; i++) {
    CHECK(results[i].failures == 0);
    CHECK(results[i].mismatches == 0);
    CHECK(results[i].first_token != NULL);
    CHECK(strcmp(results[i].first_token, results[0].first_token) == 0);
    CHECK(results[i].error_isolated == 1);
  }
  for (int i = 0; i < THREADS; i++) yciam_string_free(results[i].first_token);
  char *client_msg = yciam_client_last_error_message(client);
  CHECK(contains(client_msg, "token_out"));
  yciam_string_free(client_msg);
  yciam_client_free(client);
  printf("test_threads: %d threads x %d calls, one token; %d checks passed\n", THREADS, CALLS,
         checks_passed);
  return 0;
}
