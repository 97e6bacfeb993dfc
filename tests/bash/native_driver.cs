// Drives the C# P/Invoke layer of YcIam.psm1 (compiled from the module's own source text by
// tests/bash/run.sh, under Mono) against the fake, the way the cmdlets call it.
// Usage: mono native_driver.exe HTTPS_URL CA_FILE OAUTH_TOKEN_FILE EXPECTED_VERSION SA_KEY_FILE
//        METADATA_ADDR CACHE_DIR
// Prints "ok - ..." / "not ok - ..." lines; exits 1 when any check failed.
using System;
using System.IO;
using System.Text;
using YcIam;

static class NativeDriver
{
    static int failures;

    static void Check(bool ok, string what, string detail)
    {
        if (ok) Console.WriteLine("ok - " + what);
        else
        {
            failures++;
            Console.WriteLine("not ok - " + what + (detail == null ? "" : ": " + detail));
        }
    }

    static string Options(string https, string ca, string credentialKey, string credential)
    {
        // What NewClientOptions in YcIam.psm1 writes (ConvertTo-Json -Compress of an ordered dictionary).
        var sb = new StringBuilder("{");
        if (credentialKey != null) sb.Append("\"" + credentialKey + "\":\"" + credential + "\",");
        sb.Append("\"iam_endpoint\":\"" + https + "\",");
        sb.Append("\"resource_manager_endpoint\":\"" + https + "\",");
        sb.Append("\"ca_file\":\"" + ca.Replace("\\", "\\\\") + "\",");
        sb.Append("\"timeout_seconds\":10}");
        return sb.ToString();
    }

    static YcIamException Catch(Action action)
    {
        try { action(); }
        catch (YcIamException e) { return e; }
        return null;
    }

    static int Main(string[] args)
    {
        string https = args[0], ca = args[1];
        string oauth = File.ReadAllText(args[2]).Trim();
        string expectedVersion = args[3];
        string keyFile = args[4], metadataAddr = args[5], cacheDir = args[6];

        Check(Native.Version() == expectedVersion, "Version() is the crate version", Native.Version());
        Check(Native.StatusName(3) == "CREDENTIAL_REJECTED", "StatusName strips the YCIAM_STATUS_ prefix", Native.StatusName(3));
        Check(Native.StatusName(0) == "OK", "StatusName(0) is OK", Native.StatusName(0));

        IntPtr client = Native.NewClient(Options(https, ca, "oauth_token", oauth));
        Check(client != IntPtr.Zero, "NewClient returns a client", null);

        long expiresAt;
        string token = Native.Token(client, out expiresAt);
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Check(token != null && token.StartsWith("t1.") && token.Split('.').Length == 3, "Token returns an IAM token", token);
        Check(expiresAt > now + 3600 && expiresAt <= now + 12 * 3600 + 60, "Token returns its expiry in Unix seconds", expiresAt.ToString());
        long again;
        Check(Native.Token(client, out again) == token, "a second Token call is served from the cache", null);

        // UTF-8 both ways, a body with a length, and headers as "Name: value\n" lines.
        string text = "{\"name\":\"облако ☁ \\u00e9\",\"emoji\":\"\uD83D\uDE00\"}";
        byte[] body = Encoding.UTF8.GetBytes(text);
        int status;
        string echo = Native.Request(client, "POST", https + "/test/v1/echo?q=1",
            "Content-Type: application/json\nX-Yciam-Test: yes\n", body, out status);
        Check(status == 200, "Request returns the HTTP status", status.ToString());
        Check(echo.Contains("облако ☁") && echo.Contains("\uD83D\uDE00"), "Request sends and decodes UTF-8", echo);
        Check(echo.ToLowerInvariant().Contains("x-yciam-test"), "Request sends the header lines", echo);
        Check(echo.Contains("Bearer"), "Request adds the bearer token", null);

        string get = Native.Request(client, "GET", https + "/test/v1/echo", "", null, out status);
        Check(status == 200 && get.Contains("GET"), "Request with no body and no headers (NULL, 0)", get);

        string big = new string('x', 3 * 1024 * 1024);
        string bigEcho = Native.Request(client, "PUT", https + "/test/v1/echo", "Content-Type: text/plain\n",
            Encoding.UTF8.GetBytes(big), out status);
        Check(status == 200 && bigEcho.Contains(big), "Request carries a 3 MiB body both ways", "length " + bigEcho.Length);

        string notFound = Native.Request(client, "GET", https + "/test/v1/status/404", null, null, out status);
        Check(status == 404 && notFound.Contains("Requested status 404") && notFound.Contains("requestId"),
            "an HTTP error answer is returned, not thrown", status + " " + notFound);

        YcIamException authHeader = Catch(() => Native.Request(client, "GET", https + "/test/v1/echo",
            "Authorization: Bearer x\n", null, out status));
        Check(authHeader != null && authHeader.Status == 1, "an Authorization header is refused as INVALID_ARGUMENT",
            authHeader == null ? "no error" : authHeader.Message);

        IntPtr bad = Native.NewClient(Options(https, ca, "oauth_token", "y0_not-a-valid-token"));
        YcIamException rejected = Catch(() => { long e; Native.Token(bad, out e); });
        Check(rejected != null, "a refused OAuth token throws", null);
        if (rejected != null)
        {
            Check(rejected.Status == 3 && rejected.StatusName == "CREDENTIAL_REJECTED", "... with CREDENTIAL_REJECTED",
                rejected.Status + " " + rejected.StatusName);
            Check(rejected.StatusCode == 401, "... with the HTTP status", rejected.StatusCode.ToString());
            Check(!string.IsNullOrEmpty(rejected.RequestId) && rejected.Message.Contains(rejected.RequestId),
                "... with the request id, also in the message", rejected.RequestId + " / " + rejected.Message);
            Check(rejected.Message.Contains("OAuth token is invalid or expired"), "... with the server's message", rejected.Message);
            Check(!rejected.Message.Contains("y0_not-a-valid-token"), "... without the token", rejected.Message);
        }
        Native.FreeClient(bad);

        YcIamException unknownKey = Catch(() => Native.NewClient("{\"no_such_option\":1}"));
        Check(unknownKey != null && unknownKey.Status == 1 && unknownKey.StatusName == "INVALID_ARGUMENT",
            "bad options JSON throws INVALID_ARGUMENT", unknownKey == null ? "no error" : unknownKey.Message);

        // The other credential options the cmdlets send.
        long unused;
        IntPtr saClient = Native.NewClient(Options(https, ca, "sa_key_file", keyFile.Replace("\\", "\\\\")));
        Check(Native.Token(saClient, out unused).StartsWith("t1."), "sa_key_file gets a token", null);
        Native.FreeClient(saClient);
        IntPtr vmClient = Native.NewClient("{\"metadata\":true,\"metadata_addr\":\"" + metadataAddr + "\",\"no_cache\":true}");
        Check(Native.Token(vmClient, out unused).StartsWith("t1."), "metadata with metadata_addr gets a token", null);
        Native.FreeClient(vmClient);
        IntPtr cachedClient = Native.NewClient(Options(https, ca, "oauth_token", oauth).Replace("}",
            ",\"cache_dir\":\"" + cacheDir.Replace("\\", "\\\\") + "\"}"));
        Check(Native.Token(cachedClient, out unused).StartsWith("t1."), "cache_dir is accepted", null);
        Native.FreeClient(cachedClient);
        YcIamException twoCredentials = Catch(() => Native.NewClient("{\"metadata\":true,\"oauth_token\":\"x\"}"));
        Check(twoCredentials != null && twoCredentials.Status == 1, "two credentials are refused as INVALID_ARGUMENT", null);

        IntPtr revoker = Native.NewClient(Options(https, ca, "iam_token", token));
        string subject = Native.Revoke(revoker, token);
        Check(!string.IsNullOrEmpty(subject), "Revoke returns the subject id", subject);
        YcIamException revokedUse = Catch(() => Native.Revoke(revoker, token));
        Check(revokedUse != null && revokedUse.Message.Length > 0, "revoking a revoked token throws with a message",
            revokedUse == null ? "no error" : revokedUse.Message);
        Native.FreeClient(revoker);
        Native.FreeClient(client);
        Native.FreeClient(IntPtr.Zero);
        Check(true, "FreeClient accepts NULL", null);

        return failures == 0 ? 0 : 1;
    }
}
