//! Private keys a JWT bearer client must refuse, made with `openssl` at test time (never
//! committed). Usable key pairs come from the simulator's generator ([`super::sim::rsa_key_pair`]);
//! these are the shapes it does not make: too short, encrypted, or not RSA.

use std::process::Command;

use super::repo::run_ok;

fn openssl(args: &[&str]) -> String {
    run_ok(Command::new("openssl").args(args))
}

/// An RSA key of 1024 bits (traditional PEM).
pub fn rsa_1024() -> String {
    openssl(&["genrsa", "1024"])
}

/// An RSA key in encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`).
pub fn encrypted_pkcs8() -> String {
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-aes256",
        "-pass",
        "pass:hunter2",
    ])
}

/// An RSA key in encrypted traditional PEM (`Proc-Type: 4,ENCRYPTED`).
pub fn encrypted_legacy() -> String {
    openssl(&[
        "genrsa",
        "-aes256",
        "-passout",
        "pass:hunter2",
        "-traditional",
        "2048",
    ])
}

/// A P-256 EC key in SEC1 (`EC PRIVATE KEY`).
pub fn ec_sec1() -> String {
    openssl(&["ecparam", "-genkey", "-noout", "-name", "prime256v1"])
}

/// A P-256 EC key in PKCS#8 (`PRIVATE KEY`).
pub fn ec_pkcs8() -> String {
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
    ])
}

/// An Ed25519 key (PKCS#8).
pub fn ed25519() -> String {
    openssl(&["genpkey", "-algorithm", "ed25519"])
}
