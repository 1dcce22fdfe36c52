"""The AWS behaviours the local stack adds beside moto: the Lambda runtime that runs our
handlers, the functions' logs, the local ``sam deploy`` (reading template.yaml as CloudFormation
does), the SageMaker Runtime endpoint with its data capture, and, in ``moto_patches`` alone,
every change to moto's internals."""
