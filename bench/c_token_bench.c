/* Cached-token throughput and latency of yciam_client_token from C.
 *
 * Needs YCIAM_BENCH_URL, YCIAM_BENCH_CA and YCIAM_BENCH_OAUTH_TOKEN (bench/run-bench.sh
 * starts the fake and sets them). One exchange fills the cache; every timed call after
 * it is a cache hit that copies the token into a new string, which is then freed. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "yciam.h"

#define SINGLE_CALLS 1000000L
#define LATENCY_SAMPLES 200000L
#define THREADS 16
#define CALLS_PER_THREAD 100000L

static yciam_client *client;

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void one_call(void) {
  char *token = NULL;
  if (yciam_client_token(client, &token, NULL) != YCIAM_STATUS_OK) {
    char *msg = yciam_last_error_message();
    fprintf(stderr, "yciam_client_token failed: %s\n", msg ? msg : "?");
    exit(1);
  }
  yciam_string_free(token);
}

static void *worker(void *arg) {
  (void)arg;
  for (long i = 0; i < CALLS_PER_THREAD; i++) one_call();
  return NULL;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static const char *need(const char *name) {
  const char *v = getenv(name);
  if (!v || !*v) {
    fprintf(stderr, "set %s (bench/run-bench.sh does)\n", name);
    exit(2);
  }
  return v;
}

int main(void) {
  char options[2048];
  snprintf(options, sizeof options,
           "{\"oauth_token\":\"%s\",\"iam_endpoint\":\"%s\",\"ca_file\":\"%s\"}",
           need("YCIAM_BENCH_OAUTH_TOKEN"), need("YCIAM_BENCH_URL"), need("YCIAM_BENCH_CA"));
  if (yciam_client_new(options, &client) != YCIAM_STATUS_OK) {
    char *msg = yciam_last_error_message();
    fprintf(stderr, "yciam_client_new failed: %s\n", msg ? msg : "?");
    return 1;
  }
  one_call(); /* the one exchange */
  for (int i = 0; i < 10000; i++) one_call(); /* warm-up */

  double t0 = now_seconds();
  for (long i = 0; i < SINGLE_CALLS; i++) one_call();
  double single = now_seconds() - t0;
  printf("1 thread:   %ld calls in %.3f s = %.0f calls/s (%.0f ns/call)\n", SINGLE_CALLS, single,
         SINGLE_CALLS / single, single / SINGLE_CALLS * 1e9);

  double *samples = malloc(sizeof(double) * LATENCY_SAMPLES);
  if (!samples) return 1;
  for (long i = 0; i < LATENCY_SAMPLES; i++) {
    double a = now_seconds();
    one_call();
    samples[i] = now_seconds() - a;
  }
  qsort(samples, LATENCY_SAMPLES, sizeof(double), by_value);
  printf("latency:    median %.0f ns, p99 %.0f ns, max %.0f ns (%ld samples, clock overhead included)\n",
         samples[LATENCY_SAMPLES / 2] * 1e9, samples[LATENCY_SAMPLES * 99 / 100] * 1e9,
         samples[LATENCY_SAMPLES - 1] * 1e9, LATENCY_SAMPLES);
  free(samples);

  pthread_t threads[THREADS];
  t0 = now_seconds();
  for (int i = 0; i < THREADS; i++) pthread_create(&threads[i], NULL, worker, NULL);
  for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
  double multi = now_seconds() - t0;
  long total = THREADS * CALLS_PER_THREAD;
  printf("%d threads: %ld calls in %.3f s = %.0f calls/s in total\n", THREADS, total, multi,
         total / multi);
  yciam_client_free(client);
  return 0;
}
