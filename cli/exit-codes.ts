/**
 * What a fanin process's exit status means, the same for every command, so a service manager can act on it:
 * systemd's `RestartPreventExitStatus=78` stops restarting a process that would only fail the same way again.
 */
export const EXIT_OK = 0;
/** A failure at run time: a dependency unreachable, the local fleet's ports taken, a drain that timed out. */
export const EXIT_FAILURE = 1;
/** The command line is wrong: an unknown command or option, an option value out of range. */
export const EXIT_USAGE = 2;
/** sysexits.h EX_CONFIG: the configuration is invalid, or a configured port cannot be bound. A restart cannot help. */
export const EXIT_CONFIG = 78;
