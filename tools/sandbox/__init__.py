"""Where the session's commands run: on this machine (unconfined, or in bubblewrap) or in a Space on Hugging Face.

Modules:
    env      the environment a command starts with (built, never inherited whole)
    bwrap    the bubblewrap command line (mounts, namespaces, hidden key stores) and the probe: does it work here
    local    the backend of this machine (`sandbox.backend`: auto | bubblewrap | local) and command wrapping
    server   the sandbox server a Space runs (standard library only: bash, read, write, edit, upload, download)
    template the Space template (Dockerfile, README) the server ships in
    client   the agent's side of the server's HTTP API
    space    creating, waiting for and deleting a sandbox Space through HfApi; prices
    records  the sandboxes this machine created (one file each), who owns them, and the orphan reaper
    tool     sandbox_create / sandbox_files / sandbox_delete, and routing bash/read/write/edit to the Space
"""
