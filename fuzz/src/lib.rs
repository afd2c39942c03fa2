//! Fixtures shared by the fuzz targets: one fixed data key, master key and
//! scope, so seed envelopes made by `gen_seeds` open in the targets.

use secrecy::SecretBox;
use strongroom_engine::hazmat::{Binding, DataKey};
use strongroom_engine::{KeyScope, MasterKey, UserId};

/// The data key every envelope target opens with.
pub fn data_key() -> DataKey {
    DataKey::from_secret(&SecretBox::new(Box::new([0x42; 32])))
}

/// The master key of the unwrap target.
pub fn master_key() -> MasterKey {
    MasterKey::from_secret(&SecretBox::new(Box::new([0x24; 32])))
}

/// The data key the unwrap target's seeds wrap.
pub fn wrapped_secret() -> SecretBox<[u8; 32]> {
    SecretBox::new(Box::new([0x42; 32]))
}

/// The key scope of the unwrap target's seeds.
pub const USER: KeyScope = KeyScope::User(UserId::from_u128(7));
/// The key version of every seed.
pub const KEY_VERSION: u32 = 1;

/// The binding every envelope target opens in.
pub fn scope() -> Binding {
    Binding {
        scope: USER,
        record: 9,
    }
}

/// The owner every file-stream target derives its keys for.
pub fn owner() -> u128 {
    match USER {
        KeyScope::User(user) => user.as_u128(),
        KeyScope::Broadcast => 0,
    }
}

/// The file every file-stream target derives its keys for.
pub const FILE: u128 = 0x0190_0000_0000_7000_8000_0000_0000_0001;
