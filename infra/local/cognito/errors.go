package cognito

import "net/http"

// Error is a Cognito API error: Code is the exception name the SDK turns
// into its typed error (e.g. "NotAuthorizedException").
type Error struct {
	Code    string
	Message string
	status  int
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Cognito exception names the stand-in answers with.
const (
	codeInvalidParameter     = "InvalidParameterException"
	codeInvalidPassword      = "InvalidPasswordException"
	codeUsernameExists       = "UsernameExistsException"
	codeUserNotFound         = "UserNotFoundException"
	codeUserNotConfirmed     = "UserNotConfirmedException"
	codeUnsupportedUserState = "UnsupportedUserStateException"
	codeNotAuthorized        = "NotAuthorizedException"
	codeCodeMismatch         = "CodeMismatchException"
	codeExpiredCode          = "ExpiredCodeException"
	codeLimitExceeded        = "LimitExceededException"
	codeResourceNotFound     = "ResourceNotFoundException"
	codeUserLambdaValidation = "UserLambdaValidationException"
	codeUnexpectedLambda     = "UnexpectedLambdaException"
	codeUnknownOperation     = "UnknownOperationException"
	codeInternal             = "InternalErrorException"
)

func newError(code, message string) *Error {
	status := http.StatusBadRequest
	if code == codeInternal {
		status = http.StatusInternalServerError
	}
	return &Error{Code: code, Message: message, status: status}
}
