//! `strongroom user add`: an account created on the data dir, with a role
//! (the first admin comes this way). The password is read from the
//! terminal without echo, or from stdin when it is not a terminal; never
//! from the command line, where other users could see it.

use std::io::{BufRead, IsTerminal, Read};

use strongroom_engine::accounts::{PASSWORD_LEN, User, validate_password, validate_username};
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
        // Room for the longest password and its line end up front: the
        // line never moves (leaving a copy behind) and is read no further.
        let mut line = Zeroizing::new(String::with_capacity(LONGEST_LINE));
        std::io::stdin()
            .lock()
            .take(LONGEST_LINE as u64)
            .read_line(&mut line)
            .map_err(io)?;
        Ok(SecretString::from(
            line.trim_end_matches(['\n', '\r']).to_owned(),
        ))
    }
}

/// The most bytes a line holding a password may take: its longest length
/// in four-byte characters, and `\r\n`. A longer line is read this far,
/// and is a password too long.
const LONGEST_LINE: usize = 4 * *PASSWORD_LEN.end() + 2;

/// Creates `username` with `role` in the store of `args` (creating the
/// store like `serve` if it is absent).
pub fn add_user(
    args: &StoreArgs,
    username: &str,
    role: Role,
    password: &SecretString,
) -> Result<User, OpsError> {
    // Refused before a store is created for them.
    validate_username(username).map_err(|e| engine_error(args, e))?;
    validate_password(password).map_err(|e| engine_error(args, e))?;
    let engine = args.open_or_create().map_err(|e| data_dir_error(args, e))?;
    engine
        .accounts()
        .create_with_role(username, password, role)
        .map_err(|e| engine_error(args, e))
}
