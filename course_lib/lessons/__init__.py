"""Figures and widgets of the notebooks, one module per notebook.

Notebooks stay thin (prose, a widget, exercises); what they draw or compute lives here, as plain
functions that tests call directly.
"""


def one_blas_thread():
    """A context in which BLAS uses one thread.

    The lessons multiply small matrices (layers of a few hundred units); on a busy machine the
    threads of a multithreaded BLAS cost more than they save (training ran 5 to 40 times slower
    with two threads than with one while other jobs shared the two cores), and with one thread
    float32 results do not depend on how many cores the machine has.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")
