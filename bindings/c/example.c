/* Gets an IAM token with the default credential chain (YC_IAM_TOKEN, YC_OAUTH_TOKEN,
 * YC_TOKEN, ...) and lists the clouds the account can see.
 *
 *   cc example.c $(pkg-config --cflags --libs yciam) -o example && ./example
 *
 * YC_RESOURCE_MANAGER_ENDPOINT, YC_IAM_ENDPOINT and YCIAM_CA_FILE are honoured, as by
 * the yciam CLI. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <yciam.h>

/* Prints what failed, what the server said and what to do, and returns 1. */
static int fail(const char *call, yciam_status status) {
  char *message = yciam_last_error_message();
  fprintf(stderr, "%s: %s: %s\n", call, yciam_status_name(status), message ? message : "");
  yciam_string_free(message);
  return 1;
}

int main(void) {
  yciam_client *client = NULL;
  yciam_status status = yciam_client_new(NULL, &client); /* NULL: the default chain */
  if (status != YCIAM_STATUS_OK) return fail("yciam_client_new", status);

  char *token = NULL;
  int64_t expires_at = 0;
  status = yciam_client_token(client, &token, &expires_at);
  if (status != YCIAM_STATUS_OK) {
    yciam_client_free(client);
    return fail("yciam_client_token", status);
  }
  /* Use the token for anything you like; never print or log it. */
  fprintf(stderr, "got an IAM token valid for %lld more minutes\n",
          (long long)(expires_at - (int64_t)time(NULL)) / 60);
  yciam_string_free(token);

  const char *base = getenv("YC_RESOURCE_MANAGER_ENDPOINT");
  char url[1024];
  snprintf(url, sizeof url, "%s/resource-manager/v1/clouds",
           base && *base ? base : "https://resource-manager.api.cloud.yandex.net");

  uint16_t http_status = 0;
  char *body = NULL;
  size_t body_len = 0;
  status = yciam_client_request(client, "GET", url, "Accept: application/json", NULL, 0,
                                &http_status, &body, &body_len);
  yciam_client_free(client);
  if (status != YCIAM_STATUS_OK) return fail("yciam_client_request", status);
  printf("%.*s\n", (int)body_len, body);
  yciam_string_free(body);
  return http_status == 200 ? 0 : 1;
}
