//! Which helpers and kfuncs each attach type may call, with their argument and return types
//! (reference §3.1-§3.3, §3.6).

use crate::errno::Errno;
use crate::isa::names::*;
use crate::kernel::profile::Profile;
use crate::kernel::program::AttachType;

/// Argument types that matter here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arg {
    /// The unmodified ctx pointer.
    Ctx,
    /// Any initialised value.
    Anything,
    /// A pointer to 8 writable bytes the helper fills (`u64 *value`).
    PtrToU64,
}

/// Return types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ret {
    /// An integer.
    Integer,
    /// A non-NULL pointer to 8 writable bytes (the session cookie).
    Cookie,
}

/// A callable's prototype and the side effect it has on the program.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Proto {
    pub name: &'static str,
    pub args: &'static [Arg],
    pub ret: Ret,
    pub sets_get_func_ip: bool,
    pub sets_session_cookie: bool,
}

const fn proto(name: &'static str, args: &'static [Arg]) -> Proto {
    Proto {
        name,
        args,
        ret: Ret::Integer,
        sets_get_func_ip: false,
        sets_session_cookie: false,
    }
}

/// The helper's prototype for this attach type, or the load error.
pub(crate) fn helper(id: i32, attach: AttachType, profile: &Profile) -> Result<Proto, (Errno, String)> {
    let unknown = || match helper_name(id) {
        Some(name) => Err((
            Errno::EINVAL,
            format!("program of this type cannot use helper {name}#{id}"),
        )),
        None => Err((Errno::EINVAL, format!("invalid func unknown#{id}"))),
    };
    let name = helper_name(id).unwrap_or("unknown");
    // tp_btf programs may call bpf_get_func_arg/_arg_cnt (inlined as constants) only in kernels
    // that have that inline (not 6.12: tp_btf_get_func_arg*.FAILED.txt).
    let tp_btf_args = attach == AttachType::TpBtf && profile.inlines.raw_tp_const;
    let tramp = attach.has_trampoline();
    let tracing = attach.is_tracing();
    match id {
        5 | 7 | 8 | 14 => Ok(proto(name, &[])),
        BPF_FUNC_GET_ATTACH_COOKIE if tracing => Ok(proto(name, &[Arg::Ctx])),
        BPF_FUNC_GET_FUNC_IP if tramp => Ok(Proto {
            sets_get_func_ip: true,
            ..proto(name, &[Arg::Ctx])
        }),
        BPF_FUNC_GET_FUNC_IP if tracing => Err((
            Errno::ENOTSUPP,
            if profile.fsession {
                format!("func {name}#{id} supported only for fentry/fexit/fsession/fmod_ret programs")
            } else {
                format!("func {name}#{id} supported only for fentry/fexit/fmod_ret programs")
            },
        )),
        BPF_FUNC_GET_FUNC_ARG if tramp || tp_btf_args => Ok(proto(name, &[Arg::Ctx, Arg::Anything, Arg::PtrToU64])),
        BPF_FUNC_GET_FUNC_RET if tramp => Ok(proto(name, &[Arg::Ctx, Arg::PtrToU64])),
        BPF_FUNC_GET_FUNC_ARG_CNT if tramp || tp_btf_args => Ok(proto(name, &[Arg::Ctx])),
        _ => unknown(),
    }
}

/// The kfunc's prototype for this attach type and profile, or the load error.
pub(crate) fn kfunc(btf_id: i32, attach: AttachType, profile: &Profile) -> Result<Proto, (Errno, String)> {
    let Some(name) = kfunc_name(btf_id) else {
        return Err((Errno::EINVAL, format!("kernel btf_id {btf_id} is not a function")));
    };
    let session = btf_id == KFUNC_SESSION_COOKIE || btf_id == KFUNC_SESSION_IS_RETURN;
    // bpf_session_filter(): visible only to kprobe/uprobe session and fsession programs.
    if !session || attach != AttachType::Fsession || !profile.fsession {
        return Err((Errno::EACCES, format!("calling kernel function {name} is not allowed")));
    }
    let args: &'static [Arg] = if profile.session_kfuncs_take_ctx {
        &[Arg::Ctx]
    } else {
        &[]
    };
    Ok(if btf_id == KFUNC_SESSION_COOKIE {
        Proto {
            ret: Ret::Cookie,
            sets_session_cookie: true,
            ..proto(name, args)
        }
    } else {
        proto(name, args)
    })
}
