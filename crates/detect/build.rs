//! The shipped rules (`rules/mozdef/*.yaml`) are embedded with `include_dir!`, which does not
//! tell cargo about files added or removed: rebuild when the directory changes.

fn main() {
    println!("cargo:rerun-if-changed=../../rules/mozdef");
}
