"""The ``tiphys`` command: a thin shell over the services in the other packages."""
