//! `ferrodef user ...` and `ferrodef token ...`: users and API tokens of a data directory.
//!
//! They work on the data directory's `auth/auth.json` directly, with or without a server
//! running on it: every change is a read-modify-write under the file lock `auth/auth.lock`
//! and an atomic replace, and a running server notices the new file at its next request.
//! Their security events are spooled in `auth/events.spool`; the server stores them within
//! seconds (or at its next start).

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use ferrodef_auth::{
    Actor, Auth, RequestInfo, Role, SecurityLog, SystemClock, TokenOwner, UserChange,
};

/// Where the data directory is.
#[derive(Debug, Args, Clone)]
pub struct DirArgs {
    /// Data directory [default: data_dir of the config file, else ./data]
    #[arg(long, env = "FERRODEF_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// TOML config file [default: ./ferrodef.toml when it exists]
    #[arg(long, short = 'c', env = "FERRODEF_CONFIG", global = true)]
    pub config: Option<PathBuf>,
}

/// `ferrodef user`.
#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(flatten)]
    dir: DirArgs,
    #[command(subcommand)]
    cmd: UserCmd,
}

#[derive(Debug, Subcommand)]
enum UserCmd {
    /// Adds a user (asks for the password, or reads it from stdin)
    Add {
        name: String,
        /// viewer, analyst or admin
        #[arg(long)]
        role: Role,
        /// Read the password from the first line of stdin
        #[arg(long)]
        password_stdin: bool,
    },
    /// Sets a user's password
    Passwd {
        name: String,
        /// Read the password from the first line of stdin
        #[arg(long)]
        password_stdin: bool,
    },
    /// Changes a user's role
    Role { name: String, role: Role },
    /// Disables a user: no login, sessions and tokens stop working
    Disable { name: String },
    /// Enables a disabled user
    Enable { name: String },
    /// Unlocks an account locked after failed logins
    Unlock { name: String },
    /// Lists users
    List {
        /// As JSON
        #[arg(long)]
        json: bool,
    },
}

/// `ferrodef token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    dir: DirArgs,
    #[command(subcommand)]
    cmd: TokenCmd,
}

#[derive(Debug, Subcommand)]
enum TokenCmd {
    /// Creates an API token and prints it (shown this once)
    Create {
        /// The user the token acts as
        #[arg(long, conflicts_with = "source", required_unless_present = "source")]
        user: Option<String>,
        /// The log source the token is for (no user behind it)
        #[arg(long)]
        source: Option<String>,
        /// viewer, analyst, admin or ingest
        #[arg(long)]
        role: Role,
        /// What it is for
        #[arg(long)]
        name: String,
    },
    /// Revokes a token by id
    Revoke { id: String },
    /// Lists tokens (never their secrets)
    List {
        /// As JSON
        #[arg(long)]
        json: bool,
    },
}

/// Prints the generated first admin password, once, on stderr.
pub fn announce_generated_admin(password: &str) {
    eprintln!(
        "\n\
         ==================================================================\n\
         ferrodef first start: created the user 'admin' with the password\n\n    \
         {password}\n\n\
         It is shown this once and never again. Log in and change it, or:\n    \
         ferrodef user passwd admin --data-dir <dir>\n\
         (Set FERRODEF_ADMIN_PASSWORD before the first start to choose it.)\n\
         ==================================================================\n"
    );
}

fn open(dir: &DirArgs) -> anyhow::Result<Auth> {
    let args = crate::config::ServeArgs {
        config: dir.config.clone(),
        data_dir: dir.data_dir.clone(),
        ..Default::default()
    };
    let cfg = crate::config::Config::resolve(&args)?;
    crate::serve::private_files();
    let log = SecurityLog::new();
    let auth = Auth::open(&cfg.data_dir, cfg.auth.settings, Arc::new(SystemClock), log)
        .with_context(|| format!("data directory {}", cfg.data_dir.display()))?;
    auth.security_log().add_sink(Arc::new(auth.spool_sink()));
    Ok(auth)
}

/// The actor of the commands: the operating system user running them.
fn actor() -> Actor {
    let name = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    Actor {
        name: format!("cli:{name}"),
        id: 0,
    }
}

fn read_password(from_stdin: bool, prompt: &str) -> anyhow::Result<String> {
    if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        let pw = line.trim_end_matches(['\r', '\n']).to_string();
        if pw.is_empty() {
            bail!("no password on stdin");
        }
        return Ok(pw);
    }
    let pw = rpassword::prompt_password(prompt).context("reading the password")?;
    let again = rpassword::prompt_password("Again: ").context("reading the password")?;
    if pw != again {
        bail!("the passwords differ");
    }
    Ok(pw)
}

fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// Runs `ferrodef user ...`.
pub fn run_user(args: UserArgs) -> anyhow::Result<()> {
    let auth = open(&args.dir)?;
    let req = RequestInfo::cli(&command_line());
    let actor = actor();
    let change = |name: &str, c: UserChange| -> anyhow::Result<()> {
        let v = auth.update_user(&actor, name, &c, &req)?;
        println!(
            "{}: role {}, {}",
            v.name,
            v.role,
            if v.disabled { "disabled" } else { "enabled" }
        );
        Ok(())
    };
    match args.cmd {
        UserCmd::Add {
            name,
            role,
            password_stdin,
        } => {
            let pw = read_password(password_stdin, &format!("Password for {name}: "))?;
            let v = auth.add_user(&actor, &name, role, &pw, &req)?;
            println!("added user {} (id {}) with role {}", v.name, v.id, v.role);
        }
        UserCmd::Passwd {
            name,
            password_stdin,
        } => {
            auth.user(&name)?;
            let pw = read_password(password_stdin, &format!("New password for {name}: "))?;
            auth.set_password(&actor, &name, None, &pw, &req)?;
            println!("password of {name} changed");
        }
        UserCmd::Role { name, role } => change(
            &name,
            UserChange {
                role: Some(role),
                ..UserChange::default()
            },
        )?,
        UserCmd::Disable { name } => change(
            &name,
            UserChange {
                disabled: Some(true),
                ..UserChange::default()
            },
        )?,
        UserCmd::Enable { name } => change(
            &name,
            UserChange {
                disabled: Some(false),
                ..UserChange::default()
            },
        )?,
        UserCmd::Unlock { name } => change(
            &name,
            UserChange {
                unlock: true,
                ..UserChange::default()
            },
        )?,
        UserCmd::List { json } => {
            let users = auth.users()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else {
                println!("{:<6} {:<24} {:<8} STATE", "ID", "NAME", "ROLE");
                for u in users {
                    let state = match (u.disabled, u.locked_until) {
                        (true, _) => "disabled".to_string(),
                        (false, Some(t)) => format!("locked until {}", t.to_rfc3339()),
                        (false, None) => "enabled".to_string(),
                    };
                    println!("{:<6} {:<24} {:<8} {state}", u.id, u.name, u.role.as_str());
                }
            }
        }
    }
    Ok(())
}

/// Runs `ferrodef token ...`.
pub fn run_token(args: TokenArgs) -> anyhow::Result<()> {
    let auth = open(&args.dir)?;
    let req = RequestInfo::cli(&command_line());
    let actor = actor();
    match args.cmd {
        TokenCmd::Create {
            user,
            source,
            role,
            name,
        } => {
            let owner = match (user, source) {
                (Some(u), None) => TokenOwner::User(u),
                (None, Some(s)) => TokenOwner::Source(s),
                _ => bail!("give --user NAME or --source NAME"),
            };
            let (v, token) = auth.create_token(&actor, owner, role, &name, &req)?;
            eprintln!(
                "created token {} ({}, role {}); it is shown this once:",
                v.id, v.name, v.role
            );
            println!("{token}");
        }
        TokenCmd::Revoke { id } => {
            let v = auth.revoke_token(&actor, &id, &req)?;
            println!("revoked token {} ({})", v.id, v.name);
        }
        TokenCmd::List { json } => {
            let tokens = auth.tokens(None)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tokens)?);
            } else {
                println!(
                    "{:<13} {:<20} {:<24} {:<8} STATE",
                    "ID", "NAME", "OWNER", "ROLE"
                );
                for t in tokens {
                    let owner = match (&t.user, &t.source) {
                        (Some(u), _) => format!("user:{u}"),
                        (_, Some(s)) => format!("source:{s}"),
                        _ => String::new(),
                    };
                    let state = match t.revoked {
                        Some(r) => format!("revoked {}", r.to_rfc3339()),
                        None => "active".into(),
                    };
                    println!(
                        "{:<13} {:<20} {:<24} {:<8} {state}",
                        t.id,
                        t.name,
                        owner,
                        t.role.as_str()
                    );
                }
            }
        }
    }
    Ok(())
}
