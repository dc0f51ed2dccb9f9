import sys

from ganexp.gpu_check.runner import main

sys.exit(main())
