//! `strongroom user add`: an account created on the data dir, with a role
//! (the first admin comes this way). The password is read from the
//! terminal without echo, or from stdin when it is not a terminal; never
//! from the command line, where other users could see it.

use std::io::{BufRead, IsTerminal};

use strongroom_engine::accounts::User;
use strongroom_engine::{Role, SecretString};
use zeroize::Zeroizing;

use super::{OpsError, data_dir_error, engine_error};
use crate::datadir::StoreArgs;

/// Reads a password: a prompt without echo on a terminal, else one line of
/// stdin.
pub fn read_password() -> Result<SecretString, OpsError> {
    let io = |source| OpsError::Io {
        path: "stdin".into(),
        source,
    };
    if std::io::stdin().is_terminal() {
        let first = Zeroizing::new(rpassword::prompt_password("Password: ").map_err(io)?);
        let again = Zeroizing::new(rpassword::prompt_password("Again: ").map_err(io)?);
        if *first != *again {
            return Err(io(std::io::Error::other("the passwords differ")));
        }
        Ok(SecretString::from(first.to_string()))
    } else {
        let mut line = Zeroizing::new(String::new());
        std::io::stdin().lock().read_line(&mut line).map_err(io)?;
        Ok(SecretString::from(
            line.trim_end_matches(['\n', '\r']).to_owned(),
        ))
    }
}

/// Creates `username` with `role` in the store of `args` (creating the
/// store like `serve` if it is absent).
pub fn add_user(
    args: &StoreArgs,
    username: &str,
    role: Role,
    password: &SecretString,
) -> Result<User, OpsError> {
    let engine = args.open_or_create().map_err(|e| data_dir_error(args, e))?;
    engine
        .accounts()
        .create_with_role(username, password, role)
        .map_err(|e| engine_error(args, e))
}
