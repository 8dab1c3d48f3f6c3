"""keras-tuner search over zoo builders and training settings (issue #5, in progress).

Nothing is exported yet; the ``zoo tune`` command is not available until this
package holds the hypermodels.
"""
