"""The run ledger: every training or evaluation run the agent starts (a local job, a Hugging Face Job), with
what it needs to be compared and reproduced.

Modules:
    ledger   the records ($ML_INTERN_HOME/runs/<run id>.json, the run id is the job id) and their live view
    metrics  metrics, NaN losses and out-of-memory errors read from a run's own log
    code     what code a run ran: the script's hash, the workspace's git commit and diff, hyperparameters
             and the datasets and models the script names
"""
