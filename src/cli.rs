//! The command line: translates flags to library calls and results to stdout, stderr and
//! exit codes. No logic of its own.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};
use yciam::{Client, CredentialChoice, Error, IamToken, Options, exit};

const EXIT_CODES: &str = "\
Exit codes:
  0   success
  1   other failure (e.g. writing the output)
  2   bad usage or input (unknown flag, bad URL, unreadable file)
  3   no usable credential found
  4   the credential was rejected (HTTP 401/403, or the token exchange refused it)
  5   network or TLS failure, or --timeout ran out
  6   server failure (5xx or throttling after retries, or an unusable answer)
  22  `yciam curl`: the server answered HTTP >= 400 (the body is still printed)";

const CREDENTIALS: &str = "\
Credentials: --oauth-token-file, --sa-key-file, --metadata or --profile; with none, the first
that applies of: YC_IAM_TOKEN (used as is), YC_SERVICE_ACCOUNT_KEY_FILE (a path or the JSON),
YC_OAUTH_TOKEN, YC_TOKEN (an IAM token if shaped t1.X.Y), the yc profile (YC_PROFILE or
current: in ~/.config/yandex-cloud/config.yaml), the VM metadata service (YC_METADATA_ADDR),
and `yc iam create-token` (federated accounts). Secrets are never taken as arguments.
Tokens are cached per credential in YCIAM_CACHE_DIR (default: the platform cache dir + /yciam).";

#[derive(Parser)]
#[command(
    name = "yciam",
    version,
    about = "Get Yandex Cloud IAM tokens and make authorized API requests",
    after_help = format!("{CREDENTIALS}\n\n{EXIT_CODES}"),
    after_long_help = format!("Examples:\n  export IAM_TOKEN=$(yciam token)\n  \
        yciam curl https://resource-manager.api.cloud.yandex.net/resource-manager/v1/clouds\n  \
        yciam clouds --format table\n\n{CREDENTIALS}\n\n{EXIT_CODES}"),
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    global: Global,
}

#[derive(Args)]
struct Global {
    /// Read the Yandex account OAuth token from FILE (`-` = standard input).
    #[arg(long, value_name = "FILE|-", global = true)]
    oauth_token_file: Option<PathBuf>,
    /// Use this service account authorized key file (from `yc iam key create`; `-` = standard input)
    #[arg(long, value_name = "FILE|-", global = true)]
    sa_key_file: Option<PathBuf>,
    /// Use the service account attached to this VM (the metadata service)
    #[arg(long, global = true)]
    metadata: bool,
    /// Use this yc CLI profile [env: YC_PROFILE]
    #[arg(long, value_name = "NAME", global = true)]
    profile: Option<String>,
    /// Always get a new token; do not use or fill the cache [env: YCIAM_NO_CACHE=1]
    #[arg(long, global = true)]
    no_cache: bool,
    /// API domain of the installation, e.g. api.yandexcloud.kz [env: YC_ENDPOINT] [default: api.cloud.yandex.net]
    #[arg(long, value_name = "DOMAIN", global = true)]
    endpoint: Option<String>,
    /// IAM API base URL [env: YC_IAM_ENDPOINT] [default: https://iam.<DOMAIN>]
    #[arg(long, value_name = "URL", global = true)]
    iam_endpoint: Option<String>,
    /// Resource Manager API base URL [env: YC_RESOURCE_MANAGER_ENDPOINT] [default: https://resource-manager.<DOMAIN>]
    #[arg(long, value_name = "URL", global = true)]
    resource_manager_endpoint: Option<String>,
    /// Trust the CA certificates in this PEM file besides the system store [env: YCIAM_CA_FILE]
    #[arg(long, value_name = "FILE", global = true)]
    ca_file: Option<PathBuf>,
    /// Give up after this many seconds, retries included [default: 30]
    #[arg(long, value_name = "SECONDS", global = true)]
    timeout: Option<f64>,
    /// Print requests, statuses, timings, retries and cache decisions to stderr (never secrets)
    #[arg(short, long, global = true)]
    verbose: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Print an IAM token (as `yc iam create-token`)
    #[command(
        visible_alias = "create-token",
        after_help = "Examples:\n  export IAM_TOKEN=$(yciam token)\n  \
            yciam token --oauth-token-file ~/.config/yandex-oauth-token\n  \
            eval \"$(yciam token --format env)\"\n  \
            curl -H @<(yciam token --format header) https://resource-manager.api.cloud.yandex.net/resource-manager/v1/clouds\n  \
            yciam token --format json    # {\"iamToken\":\"...\",\"expiresAt\":\"...\"}"
    )]
    Token {
        /// Output format
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Send an authorized request, like curl with `Authorization: Bearer <IAM token>` added
    #[command(after_help = "Examples:\n  \
        yciam curl https://resource-manager.api.cloud.yandex.net/resource-manager/v1/clouds\n  \
        yciam curl -X POST -H 'Content-Type: application/json' -d @body.json https://compute.api.cloud.yandex.net/compute/v1/instances\n  \
        yciam curl -i https://resource-manager.api.cloud.yandex.net/resource-manager/v1/clouds/b1g...\n\n\
        The body goes to stdout. HTTP >= 400 exits 22 with the body still printed (curl --fail-with-body).\n\
        -d sends the data as is (like curl --data-binary); Content-Type defaults to application/json.")]
    Curl(CurlArgs),
    /// List every cloud the account can see (all pages)
    #[command(after_help = "Examples:\n  yciam clouds\n  yciam clouds --format table")]
    Clouds {
        /// Output format
        #[arg(long, value_enum, default_value_t = ListFormat::Json)]
        format: ListFormat,
        /// Clouds per request (the API's default is 100, its maximum 1000)
        #[arg(long, value_name = "N")]
        page_size: Option<u32>,
    },
    /// Docker credential helper protocol (also run as `docker-credential-yciam`)
    #[command(
        after_help = "Set up: put a link `docker-credential-yciam` to yciam on PATH and add to ~/.docker/config.json:\n  \
        {\"credHelpers\": {\"cr.yandex\": \"yciam\"}}\n\
        Then docker pull/push to cr.yandex use a fresh IAM token with the user name `iam`."
    )]
    DockerCredential {
        /// get, store, erase or list (the server URL or credentials come on standard input)
        #[arg(value_enum)]
        action: DockerAction,
    },
    /// Revoke an IAM token (as `yc iam revoke-token`)
    #[command(
        after_help = "Examples:\n  printf '%s' \"$IAM_TOKEN\" | yciam revoke --iam-token-file -"
    )]
    Revoke {
        /// Read the IAM token to revoke from FILE (`-` = standard input)
        #[arg(long, value_name = "FILE|-")]
        iam_token_file: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// The token alone
    Text,
    /// {"iamToken": ..., "expiresAt": ...}
    Json,
    /// export IAM_TOKEN='...' (for eval in sh/bash/zsh)
    Env,
    /// $env:IAM_TOKEN = '...' (for Invoke-Expression in PowerShell)
    Powershell,
    /// Authorization: Bearer ... (for curl -H @file)
    Header,
    /// A kubectl ExecCredential (client.authentication.k8s.io/v1 or v1beta1, per KUBERNETES_EXEC_INFO)
    ExecCredential,
}

#[derive(Clone, Copy, ValueEnum)]
enum DockerAction {
    Get,
    Store,
    Erase,
    List,
}

#[derive(Clone, Copy, ValueEnum)]
enum ListFormat {
    Json,
    Table,
}

#[derive(Args)]
struct CurlArgs {
    /// HTTP method [default: GET, or POST with -d]
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    method: Option<String>,
    /// Extra header, 'Name: value' (repeatable)
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    headers: Vec<String>,
    /// Request body: DATA, @FILE, or @- for standard input (repeatable, joined with &)
    #[arg(short = 'd', long = "data", visible_aliases = ["data-binary", "data-raw"], value_name = "DATA")]
    data: Vec<String>,
    /// Print the status line and headers before the body
    #[arg(short = 'i', long = "include")]
    include: bool,
    /// Write the body to FILE instead of stdout
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Accepted for curl compatibility (yciam prints no progress)
    #[arg(short = 's', long = "silent")]
    _silent: bool,
    /// The URL
    url: String,
}

/// Runs the CLI and returns its exit code.
pub fn main() -> ExitCode {
    // Run as `docker-credential-yciam get`: the same as `yciam docker-credential get`.
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let invoked_as = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if invoked_as.starts_with("docker-credential-") {
        args.insert(1, "docker-credential".into());
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::from(exit::OK),
        Err(e) => {
            eprintln!("yciam: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn is_broken_pipe(e: &Error) -> bool {
    matches!(e, Error::Io { kind, .. } if *kind == io::ErrorKind::BrokenPipe)
}

fn options(g: &Global) -> yciam::Result<Options> {
    let mut o = Options::from_env();
    let chosen = [
        g.oauth_token_file
            .as_ref()
            .map(|f| CredentialChoice::OAuthTokenFile(f.clone())),
        g.sa_key_file
            .as_ref()
            .map(|f| CredentialChoice::ServiceAccountKeyFile(f.clone())),
        g.metadata.then_some(CredentialChoice::Metadata),
        g.profile
            .as_ref()
            .map(|p| CredentialChoice::Profile(p.clone())),
    ];
    let mut chosen = chosen.into_iter().flatten();
    if let Some(choice) = chosen.next() {
        if chosen.next().is_some() {
            return Err(Error::Usage(
                "give at most one of --oauth-token-file, --sa-key-file, --metadata, --profile"
                    .into(),
            ));
        }
        o = o.credential(choice);
    }
    if !o.has_cache_dir()
        && let Some(dir) = yciam::default_cache_dir()
    {
        o = o.cache_dir(dir);
    }
    if g.no_cache {
        o = o.no_cache(true);
    }
    if let Some(e) = &g.endpoint {
        o = o.endpoint(e);
    }
    if let Some(e) = &g.iam_endpoint {
        o = o.iam_endpoint(e);
    }
    if let Some(e) = &g.resource_manager_endpoint {
        o = o.resource_manager_endpoint(e);
    }
    if let Some(f) = &g.ca_file {
        o = o.ca_file(f);
    }
    if let Some(t) = g.timeout {
        o = o.timeout(yciam::timeout_from_secs(t)?);
    }
    if g.verbose {
        o = o.logger(Arc::new(|line: &str| eprintln!("yciam: {line}")));
    }
    Ok(o)
}

fn run(cli: Cli) -> yciam::Result<u8> {
    let options = options(&cli.global)?;
    match cli.command {
        Command::Token { format } => {
            let token = Client::new(options)?.token()?;
            write_stdout(render_token(&token, format)?.as_bytes())?;
            Ok(exit::OK)
        }
        Command::Curl(args) => curl(options, args),
        Command::Clouds { format, page_size } => {
            let clouds = Client::new(options)?.clouds(page_size)?;
            let out = match format {
                ListFormat::Json => {
                    let mut s =
                        serde_json::to_string_pretty(&serde_json::json!({ "clouds": clouds }))
                            .unwrap_or_default();
                    s.push('\n');
                    s
                }
                ListFormat::Table => clouds_table(&clouds),
            };
            write_stdout(out.as_bytes())?;
            Ok(exit::OK)
        }
        Command::DockerCredential { action } => docker_credential(options, action),
        Command::Revoke { iam_token_file } => {
            let (_, token) = yciam::read_token_file(&iam_token_file)?;
            // The token being revoked is its own authorization; no other credential is needed.
            let client =
                Client::new(options.credential(CredentialChoice::IamToken(token.clone())))?;
            let subject = client.revoke(&token)?;
            write_stdout(format!("{{\"subjectId\":{}}}\n", serde_json::json!(subject)).as_bytes())?;
            Ok(exit::OK)
        }
    }
}

fn render_token(token: &IamToken, format: Format) -> yciam::Result<String> {
    let t = token.expose();
    Ok(match format {
        Format::Text => format!("{t}\n"),
        Format::Json => {
            let mut s = serde_json::json!({
                "iamToken": t,
                "expiresAt": token.expires_at_rfc3339(),
            })
            .to_string();
            s.push('\n');
            s
        }
        // Tokens are printable ASCII without quotes in practice; quote defensively anyway.
        Format::Env => format!("export IAM_TOKEN='{}'\n", t.replace('\'', r"'\''")),
        Format::Powershell => format!("$env:IAM_TOKEN = '{}'\n", t.replace('\'', "''")),
        Format::Header => format!("Authorization: Bearer {t}\n"),
        Format::ExecCredential => {
            let info = std::env::var("KUBERNETES_EXEC_INFO").ok();
            let mut s = yciam::exec_credential(token, info.as_deref())?;
            s.push('\n');
            s
        }
    })
}

/// docker's credential-helper protocol: the server URL (or credentials) on stdin, JSON out;
/// errors go to stdout too, as docker reads them from there.
fn docker_credential(options: Options, action: DockerAction) -> yciam::Result<u8> {
    let mut input = String::new();
    if !matches!(action, DockerAction::List) {
        io::stdin()
            .lock()
            .take(64 * 1024)
            .read_to_string(&mut input)
            .map_err(|e| Error::io("cannot read standard input", &e))?;
    }
    let out = match action {
        DockerAction::Get => {
            let server = input.trim();
            if !yciam::is_yandex_registry(server) {
                write_stdout(format!("{}\n", yciam::DOCKER_NOT_FOUND).as_bytes())?;
                return Ok(exit::FAILURE);
            }
            let token = Client::new(options)?.token()?;
            yciam::docker_get(server, &token)
        }
        // Nothing to keep: every `get` makes or reuses a fresh token.
        DockerAction::Store | DockerAction::Erase => return Ok(exit::OK),
        DockerAction::List => yciam::docker_list(),
    };
    write_stdout(format!("{out}\n").as_bytes())?;
    Ok(exit::OK)
}

fn clouds_table(clouds: &[serde_json::Value]) -> String {
    let field = |c: &serde_json::Value, k: &str| {
        c.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string()
    };
    let rows: Vec<[String; 4]> = clouds
        .iter()
        .map(|c| {
            [
                field(c, "id"),
                field(c, "name"),
                field(c, "organizationId"),
                field(c, "createdAt"),
            ]
        })
        .collect();
    let head = ["ID", "NAME", "ORGANIZATION ID", "CREATED AT"];
    let mut widths = head.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(head.map(String::from)).chain(rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn curl(options: Options, args: CurlArgs) -> yciam::Result<u8> {
    yciam::check_url(&args.url)?;
    let mut headers = Vec::new();
    for h in &args.headers {
        let (name, value) = yciam::parse_header(h)?;
        if name.eq_ignore_ascii_case("authorization") {
            eprintln!("yciam: ignoring the Authorization header you gave; yciam sends its own");
            continue;
        }
        headers.push((name, value));
    }
    let body = if args.data.is_empty() {
        None
    } else {
        let mut parts = Vec::new();
        for d in &args.data {
            parts.push(read_data(d)?);
        }
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        Some(parts.join(&b'&'))
    };
    let method = args
        .method
        .clone()
        .unwrap_or_else(|| if body.is_some() { "POST" } else { "GET" }.to_string());
    let client = Client::new(options)?;
    let resp = client.request(&method, &args.url, &headers, body.as_deref())?;
    let status = resp.status;
    let request_id = resp
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("x-request-id"))
        .map(|(_, v)| v.clone());
    let mut head = Vec::new();
    if args.include {
        head.extend_from_slice(
            format!("{} {} {}\r\n", resp.version, status, resp.reason).as_bytes(),
        );
        for (n, v) in &resp.headers {
            head.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
    }
    let mut reader = resp.into_reader();
    match &args.output {
        Some(path) => {
            let mut file = std::fs::File::create(path)
                .map_err(|e| Error::io(format!("cannot create {}", path.display()), &e))?;
            copy_out(&head, &mut reader, &mut file, &path.display().to_string())?;
        }
        None => copy_out(
            &head,
            &mut reader,
            &mut io::stdout().lock(),
            "standard output",
        )?,
    }
    if status >= 400 {
        let id = request_id
            .map(|id| format!(" (request id {id})"))
            .unwrap_or_default();
        eprintln!("yciam: {method} {} returned HTTP {status}{id}", args.url);
        return Ok(exit::HTTP_ERROR);
    }
    Ok(exit::OK)
}

fn copy_out(
    head: &[u8],
    body: &mut impl Read,
    out: &mut impl Write,
    name: &str,
) -> yciam::Result<()> {
    let werr = |e: io::Error| Error::io(format!("cannot write to {name}"), &e);
    out.write_all(head).map_err(werr)?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io("reading the response body failed", &e)),
        };
        out.write_all(&buf[..n]).map_err(werr)?;
    }
    out.flush().map_err(werr)
}

/// `-d` values: DATA as is, `@FILE`, or `@-` for standard input.
fn read_data(d: &str) -> yciam::Result<Vec<u8>> {
    match d.strip_prefix('@') {
        Some("-") => {
            let mut buf = Vec::new();
            io::stdin()
                .lock()
                .read_to_end(&mut buf)
                .map_err(|e| Error::io("cannot read -d @- from standard input", &e))?;
            Ok(buf)
        }
        Some(path) => std::fs::read(path).map_err(|e| {
            Error::Usage(format!(
                "cannot read the data file {path} given as -d @{path}: {e}"
            ))
        }),
        None => Ok(d.as_bytes().to_vec()),
    }
}

fn write_stdout(bytes: &[u8]) -> yciam::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("cannot write to standard output", &e))
}
