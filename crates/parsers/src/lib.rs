//! Event parsers (transforms): sshd, sudo, su, PAM, auditd, web/proxy access logs
